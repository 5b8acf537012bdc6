// Where a quick run's backbone features are computed: TF.js on the run's compute device (the device the run chose,
// src/device/choice.ts: this process, its worker threads, or a page), or onnxruntime-node on the studio's own ONNX export of the backbone (export/ort-features.ts), whichever is
// faster on this machine for the model and size. The rule: measured once per machine, variant and size on the
// same probe images (one warm-up pass, then one timed pass each), the faster wins, and onnxruntime only when its
// rows agree with TF.js's within PARITY (else a note says why it was set aside). The choice is kept in
// inference-runtimes.json beside the device speeds (the per-user data folder or $MOBILEVIT_WORKSPACE; in the
// engine, beside the speeds file the service hands it), so the next run on the machine does not measure again.
// MOBILEVIT_INFERENCE_RUNTIME=tfjs|onnxruntime|auto overrides; where 'auto' measures nothing
// (MOBILEVIT_AUTO_MEASURE=off, as the tests run) TF.js is used unless cached.
// Whichever it is, one note says where the features were computed and why. Evaluation passes and predict take
// the same rule (chooseInferenceRuntime; train/inference-model.ts opens their model on the runtime it picks), and so
// do the segmentation and detection networks' (openByRule with their own probes: train/dense-inference.ts).
import { join } from 'node:path';
import { measuringOff } from '../device/choice.ts';
import { describeDevice } from '../device/describe.ts';
import type { ComputeDevice } from '../device/device.ts';
import { defaultThreads } from '../device/parallel.ts';
import { keep, readKept, runtimeKey, runtimesFileBeside } from '../device/runtime-file.ts';
import { DEVICE_SPEEDS_FILE } from '../device/speed-file.ts';
import { OrtFeatures } from '../export/ort-features.ts';
import type { Model } from '../model/model.ts';
import { INFERENCE_RUNTIMES, type InferenceRuntime } from '../protocol/devices.ts';
import { stateDict } from '../model/weights.ts';
import { defaultWorkspace } from '../run/index.ts';
import { Rng } from '../util/random.ts';

/** A --runtime flag: a runtime, or 'auto' for the rule; not given, the rule with MOBILEVIT_INFERENCE_RUNTIME (undefined). */
export function parseRuntime(v: unknown): InferenceRuntime | 'auto' | undefined {
  if (v === undefined || v === 'auto' || (INFERENCE_RUNTIMES as readonly unknown[]).includes(v)) return v as InferenceRuntime | 'auto' | undefined;
  throw new RangeError(`--runtime must be one of auto, ${INFERENCE_RUNTIMES.join(', ')}, got "${String(v)}"`);
}

/** Largest difference allowed between the runtimes' features, relative to the features' largest magnitude. */
export const PARITY = 1e-4;
/** Images of the measurement's probe batch. */
const PROBE_IMAGES = 8;

/** Inference-mode pooled features of images [n, size, size, 3] on one runtime. */
export interface FeatureSource {
  runtime: InferenceRuntime;
  /** Where it runs, in words (the run's note). */
  where: string;
  features(x: Float32Array, n: number, size: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * TF.js on the run's device: the backbone's weights sent there once, its inference passes computed there (on
 * wasm-workers split by images across the threads, which is exact); close() releases the model there, not the device.
 */
async function openTfjs(model: Model, device: ComputeDevice): Promise<FeatureSource> {
  await device.call({ op: 'open', model: { variant: model.variant, numClasses: model.numClasses }, weights: stateDict(model) });
  return {
    runtime: 'tfjs', where: `TF.js on ${describeDevice(device)}`,
    features: (x, n, size) => device.call({ op: 'features', x, shape: [n, size, size, 3] }),
    close: async () => { await device.call({ op: 'close' }).catch(() => undefined); }, // a lost device holds nothing any more
  };
}

/** Where onnxruntime computes, in words. */
export const ortWhere = (threads: number) => `onnxruntime-node on ${threads} thread${threads === 1 ? '' : 's'}`;

async function openOrt(model: Model, size: number): Promise<FeatureSource> {
  const threads = defaultThreads();
  const ort = await OrtFeatures.create(model, size, threads);
  return {
    runtime: 'onnxruntime', where: ortWhere(threads),
    features: (x, n, s) => {
      if (s !== size) throw new Error(`onnxruntime features exported at ${size} px got ${s} px images`);
      return ort.features(x, n);
    },
    close: () => ort.dispose(),
  };
}

/** The device speeds file this process was handed (the engine's init), beside which its choices are kept. */
let handedSpeedsFile: string | null = null;

/**
 * Keeps this process's choices beside `speedsFile` from now on (undefined: the default again). The engine calls it
 * at init with the speeds file the service gives it, so `serve --workspace DIR` reads and writes one file whatever
 * MOBILEVIT_WORKSPACE says; a process that was handed none (the CLI) keeps them in its default workspace.
 */
export function keepRuntimesBeside(speedsFile: string | undefined): void {
  handedSpeedsFile = speedsFile ?? null;
}

/** The file of kept choices: beside the device speeds this process uses (runtimesFileBeside). */
export const runtimesFile = (env: Record<string, string | undefined> = process.env) =>
  runtimesFileBeside(handedSpeedsFile ?? join(defaultWorkspace(env), DEVICE_SPEEDS_FILE));

/** The faster runtime of a measurement, TF.js when onnxruntime's rows disagree (the rule, free of any runtime). */
export function chooseRuntime(ms: Record<InferenceRuntime, number>, maxRelDiff: number): { runtime: InferenceRuntime; reason: string } {
  const timings = `${ms.onnxruntime.toFixed(1)} ms/image on onnxruntime, ${ms.tfjs.toFixed(1)} on TF.js`;
  if (!(maxRelDiff <= PARITY)) return { runtime: 'tfjs', reason: `onnxruntime set aside: its features differ from TF.js's by ${maxRelDiff.toExponential(1)} (over ${PARITY}); ${timings}` };
  return ms.onnxruntime < ms.tfjs ? { runtime: 'onnxruntime', reason: `measured faster: ${timings}` } : { runtime: 'tfjs', reason: `measured faster: ${timings}` };
}

/** What the rule measures on each runtime: its inference-mode outputs of the probe images, as rows to compare. */
export type RuntimeProbe = Pick<FeatureSource, 'runtime' | 'features' | 'close'>;

/** Opens each runtime's probe of one network at one size. */
export type RuntimeProbes<P extends RuntimeProbe = RuntimeProbe> = Record<InferenceRuntime, () => Promise<P>>;

async function timePerImage(source: RuntimeProbe, x: Float32Array, n: number, size: number): Promise<{ ms: number; rows: Float32Array }> {
  await source.features(x, n, size); // warm-up: first-call allocations, the workers' first pass
  const t0 = performance.now();
  const rows = await source.features(x, n, size);
  return { ms: (performance.now() - t0) / n, rows };
}

/**
 * Below this many input pixels (about 64 images at 224 px) a measurement would cost more than it saves: an
 * onnxruntime session takes a second or so to export and start. TF.js is used unmeasured.
 */
export const MEASURE_WORTH_PIXELS = 64 * 224 * 224;

export interface FeatureSourceOptions {
  /** The run's compute device, where TF.js computes the features. */
  device: ComputeDevice;
  /** Input pixels the features will be computed of: below MEASURE_WORTH_PIXELS the runtimes are not measured (TF.js). */
  pixels: number;
  /** 'auto' (default: MOBILEVIT_INFERENCE_RUNTIME, else the measured rule) or a runtime. */
  runtime?: InferenceRuntime | 'auto';
  onNote?: (note: string) => void;
  env?: Record<string, string | undefined>;
  /** Where choices are kept (default: runtimesFile(), beside this process's device speeds). */
  file?: string;
}

/** The rule's answer: a runtime and why, in words. */
export interface RuntimeDecision { runtime: InferenceRuntime; why: string }

/**
 * The rule's answer where nothing need be measured now: a runtime asked for (the option, else
 * MOBILEVIT_INFERENCE_RUNTIME), too little work to pay for a measurement, a choice kept for this machine, or
 * measuring switched off. null: measure now (a training's validation, which must not measure on the run's
 * device, takes TF.js then).
 */
export function decidedRuntime(variant: string, size: number, o: Omit<FeatureSourceOptions, 'onNote'>): RuntimeDecision | null {
  const env = o.env ?? process.env;
  const asked = o.runtime ?? (env.MOBILEVIT_INFERENCE_RUNTIME?.trim() || 'auto');
  if (asked !== 'auto' && !(INFERENCE_RUNTIMES as readonly string[]).includes(asked)) {
    throw new Error(`MOBILEVIT_INFERENCE_RUNTIME must be one of auto, ${INFERENCE_RUNTIMES.join(', ')}, got "${asked}"`);
  }
  if (asked !== 'auto') return { runtime: asked as InferenceRuntime, why: 'asked for' };
  if (o.pixels < MEASURE_WORTH_PIXELS) return { runtime: 'tfjs', why: 'too little work to measure the runtimes' };
  const file = o.file ?? runtimesFile(env);
  const kept = readKept(file).find((e) => e.key === runtimeKey(variant, size, o.device.info.name));
  if (kept) return { runtime: kept.runtime, why: `${kept.reason}; kept for this machine in ${file}` };
  if (measuringOff(env)) return { runtime: 'tfjs', why: 'runtimes not measured: MOBILEVIT_AUTO_MEASURE=off' };
  return null;
}

/**
 * Measures both runtimes on the same `images` probe images, keeps the choice for `variant` at `size` px, and returns
 * the winner open (or TF.js, saying why onnxruntime was not).
 */
async function measured<P extends RuntimeProbe>(variant: string, size: number, o: FeatureSourceOptions, open: RuntimeProbes<P>, images = PROBE_IMAGES): Promise<{ source: P; why: string }> {
  const file = o.file ?? runtimesFile(o.env ?? process.env);
  const rng = new Rng(size);
  const probe = Float32Array.from({ length: images * size * size * 3 }, () => rng.next());
  const tfjs = await open.tfjs();
  let ort: P | null = null;
  try {
    ort = await open.onnxruntime();
  } catch (e) {
    return { source: tfjs, why: `onnxruntime could not start: ${(e as Error).message}` };
  }
  let a: Awaited<ReturnType<typeof timePerImage>>;
  let b: Awaited<ReturnType<typeof timePerImage>>;
  try {
    a = await timePerImage(tfjs, probe, images, size);
  } catch (e) {
    await Promise.all([tfjs.close(), ort.close()]);
    throw e;
  }
  try {
    b = await timePerImage(ort, probe, images, size);
  } catch (e) {
    await ort.close();
    return { source: tfjs, why: `onnxruntime failed on the probe images: ${(e as Error).message}` };
  }
  let diff = 0;
  let scale = 0;
  a.rows.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - b.rows[i])); scale = Math.max(scale, Math.abs(v)); });
  const choice = chooseRuntime({ tfjs: a.ms, onnxruntime: b.ms }, diff / Math.max(scale, 1e-12));
  const key = runtimeKey(variant, size, o.device.info.name);
  keep(file, { key, runtime: choice.runtime, msPerImage: { tfjs: a.ms, onnxruntime: b.ms }, reason: choice.reason, measuredAt: Date.now() });
  const [chosen, other] = choice.runtime === 'onnxruntime' ? [ort, tfjs] : [tfjs, ort];
  await other.close();
  return { source: chosen, why: `${choice.reason} at ${size} px; kept for this machine in ${file}` };
}

/**
 * Opens the runtime `d` names through `open`: the one way every inference runtime is opened. onnxruntime that
 * cannot start leaves TF.js, saying why.
 */
export async function openDecided<S>(d: RuntimeDecision, open: Record<InferenceRuntime, () => Promise<S>>): Promise<RuntimeDecision & { source: S }> {
  if (d.runtime === 'onnxruntime') {
    try {
      return { ...d, source: await open.onnxruntime() };
    } catch (e) {
      return { runtime: 'tfjs', why: `onnxruntime could not start: ${(e as Error).message}`, source: await open.tfjs() };
    }
  }
  return { ...d, source: await open.tfjs() };
}

/**
 * Opens the runtime the rule picks for `variant` at `size` px through `open`: decided without measuring where it can
 * be (decidedRuntime), else measured on `images` probe images, the winner handed on open as the measurement left it.
 */
export async function openByRule<P extends RuntimeProbe>(variant: string, size: number, o: FeatureSourceOptions, open: RuntimeProbes<P>, images = PROBE_IMAGES): Promise<{ source: P; why: string }> {
  const d = decidedRuntime(variant, size, o);
  return d ? openDecided(d, open) : measured(variant, size, o, open, images);
}

/** Opens the runtime the rule picks for `model` at `size` px, saying which and why through onNote. */
export async function openFeatureSource(model: Model, size: number, o: FeatureSourceOptions): Promise<FeatureSource> {
  const { source, why } = await openByRule(model.variant, size, o, classifierProbes(model, size, o.device));
  o.onNote?.(`backbone features on ${source.where} (${why})`);
  return source;
}

/**
 * The rule's runtime for any inference-mode work of `model` at `size` px (evaluation passes, predict): the same
 * decision and the same kept measurement as a quick run's features, since the backbone is nearly all of a forward
 * pass. Where it must measure, it measures as a quick run does and keeps the choice (the features' probes are
 * closed: what opens next computes logits).
 */
export async function chooseInferenceRuntime(model: Model, size: number, o: FeatureSourceOptions): Promise<RuntimeDecision> {
  const d = decidedRuntime(model.variant, size, o);
  if (d) return d;
  const m = await measured(model.variant, size, o, classifierProbes(model, size, o.device));
  await m.source.close();
  return { runtime: m.source.runtime, why: m.why };
}

/** A classifier's probes: its pooled features, the backbone being nearly all of its forward pass. */
const classifierProbes = (model: Model, size: number, device: ComputeDevice): RuntimeProbes<FeatureSource> => ({
  tfjs: () => openTfjs(model, device), onnxruntime: () => openOrt(model, size),
});
