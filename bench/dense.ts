// `npm run bench -- segmentation` and `npm run bench -- detection` (issues 19, 20 and 23's dense rows):
//   1. Inference, batch 1, every network of the task (DeepLabv3-MobileViT at 512 px, SSDLite-MobileViT at 320 px):
//      TF.js on wasm (one thread, this process) and onnxruntime-node running the studio's own ONNX export of the
//      same network with the same weights (the graph `export --format onnx` writes) as predict runs it
//      (export/ort-dense.ts: one image on one session on --ort-threads intra-op threads), alternate passes after a
//      warm-up pass each; medians, their ratio, and the largest difference between the
//      two runtimes' outputs (a check that both ran the same network). Beside the clock, each pass's CPU time in
//      this process (every thread's): the work done, which a machine shared with other work disturbs far less.
//   1b. onnxruntime's two setups on the same graph, batch 1 and 8: one session on every core (its intra-op threads)
//      against one single-thread session per core on worker threads, the batch cut across them, alternate passes
//      after a warm-up each (export/ort-dense.ts runs one image on the first, several on the second).
//   2. Training images/s of one network (DeepLabv3 at 256 px, SSDLite at 320 px; MobileViT-XXS's by default) on
//      wasm in this process and on wasm-workers, each opened as a run opens it (openDenseCompute: the task's view
//      and objective; on workers, their kernels data parallel), the labels as a run's batch carries them
//      (detection: boxes matched to the anchors and packed), in passes as the loop cuts the batch.
//   3. The in-process step's kernel split (tf.profile): the heaviest kernels, each with its share of the step.
// Flags (after the section name, each as --name=value): --variants=xxs,xs (inference networks), --runs=N
// (inference passes per runtime, 3), --size=N (inference px), --setup-batches=1,8 (1b's batches), --train-variant=
// mobilevit_xs, --train-size=N, --batch=N (8), --steps=N (timed steps after one warm-up, 2), --ort-threads=N
// (onnxruntime's worker sessions, and the one session's intra-op threads in 1b; 2), --top=N (kernels shown, 12),
// --out=path (the JSON, bench/results/<task>.json by default: a run of some networks only can keep the full one).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { table } from '../src/cli/common.ts';
import { chooseDevice } from '../src/device/choice.ts';
import { LocalDevice, type ComputeDevice } from '../src/device/device.ts';
import { passImages } from '../src/device/parallel.ts';
import { deviceDeps } from '../src/engine/devices.ts';
import { createOrtSession, runImages, type OrtOutput, type OrtSession } from '../src/export/ort.ts';
import { OrtWorkers } from '../src/export/ort-workers.ts';
import { ONNX_INPUT } from '../src/export/onnx.ts';
import type { DenseNetwork } from '../src/model/dense-from-file.ts';
import type { Network } from '../src/model/network.ts';
import { createNetwork } from '../src/model/networks.ts';
import { imagesPerPass } from '../src/model/memory.ts';
import { parseVariant, type NetworkName, type VariantName } from '../src/model/registry/index.ts';
import type { TrainerSettings } from '../src/optim/trainer.ts';
import { TrainSettings } from '../src/protocol/training.ts';
import { ADAMW } from '../src/train/defaults.ts';
import { openDenseCompute } from '../src/train/dense-compute.ts';
import { Rng } from '../src/util/random.ts';
import { networksOf, TASK_BENCHES, type DenseTask, type Outputs, type TaskBench } from './dense-tasks.ts';
import { machine, median, writeResult } from './machine.ts';

export interface DenseBenchOptions {
  /** Inference networks (default: all of the task's). */
  variants?: string[];
  runs?: number;
  size?: number;
  /** Batches of the onnxruntime setups' comparison (default 1 and 8). */
  setupBatches?: number[];
  trainVariant?: VariantName;
  trainSize?: number;
  batch?: number;
  steps?: number;
  ortThreads?: number;
  top?: number;
  /** The JSON's path (default bench/results/<task>.json). */
  out?: string;
}

const round = (n: number, d = 2) => +n.toFixed(d);

/** One timed call: its clock time and this process's CPU time (every thread), both in ms. */
interface Timing { ms: number; cpuMs: number }
async function timing(f: () => Promise<unknown>): Promise<Timing> {
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  await f();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}
const medians = (ts: Timing[]) => ({ ms: median(ts.map((t) => t.ms)), cpuMs: median(ts.map((t) => t.cpuMs)) });
const listed = (ts: Timing[]) => ts.map((t) => [round(t.ms, 1), round(t.cpuMs, 1)]);

/** --name=value flags of the command line; a flag without "=" or unknown is one error naming it. */
export function denseFlags(argv: string[], bench: TaskBench): DenseBenchOptions {
  const o: DenseBenchOptions = {};
  const count = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a whole number from 1, got "${v}"`);
    return n;
  };
  for (const arg of argv.filter((a) => a.startsWith('--'))) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new RangeError(`${arg}: write the ${bench.task} bench's flags as --name=value (--runs=5)`);
    const [, name, v] = m;
    if (name === 'variants') o.variants = v.split(',').map((s) => networkNamed(bench, s));
    else if (name === 'train-variant') o.trainVariant = parseVariant(v);
    else if (name === 'runs') o.runs = count(name, v);
    else if (name === 'size') o.size = count(name, v);
    else if (name === 'setup-batches') o.setupBatches = v.split(',').map((b) => count(name, b));
    else if (name === 'train-size') o.trainSize = count(name, v);
    else if (name === 'batch') o.batch = count(name, v);
    else if (name === 'steps') o.steps = count(name, v);
    else if (name === 'ort-threads') o.ortThreads = count(name, v);
    else if (name === 'top') o.top = count(name, v);
    else if (name === 'out') {
      if (!v) throw new RangeError('--out needs a path (--out=bench/results/segmentation-split.json)');
      o.out = v;
    } else throw new RangeError(`unknown flag --${name} for the ${bench.task} bench (variants, runs, size, setup-batches, train-variant, train-size, batch, steps, ort-threads, top, out)`);
  }
  return o;
}

/** A network of the task by its name or its size suffix (xxs → deeplabv3_mobilevit_xxs). */
function networkNamed(bench: TaskBench, name: string): string {
  const networks = networksOf(bench.task);
  const found = networks.find((n) => n === name || n.endsWith(`_${name}`));
  if (!found) throw new RangeError(`--variants: no ${bench.task} network "${name}" (${networks.join(', ')})`);
  return found;
}

/** The task's network with its family's outputs (VOC's 21 classes, COCO's 81 with the background), seed 1 in every row. */
const benchNetwork = (network: string) => createNetwork(network as NetworkName, undefined, 1) as DenseNetwork;

function maxAbsDiff(a: Outputs, b: Outputs, names: string[]): number {
  let max = 0;
  for (const name of names) {
    const [x, y] = [a[name], b[name]];
    if (x.length !== y.length) throw new Error(`${name}: TF.js gave ${x.length} values, onnxruntime ${y.length}`);
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  }
  return max;
}

export interface InferenceRow {
  network: string; size: number; tfjsMs: number; ortMs: number; tfjsOverOrt: number; tfjsCpuMs: number; ortCpuMs: number; tfjsOverOrtCpu: number; maxAbsDiff: number;
  /** Every timed pass: [clock ms, CPU ms]. */
  tfjsTimes: number[][]; ortTimes: number[][];
}

/** `runs` alternate timed calls of `a` and `b` after one warm-up call each. */
async function alternate(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[Timing[], Timing[]]> {
  const ta: Timing[] = [], tb: Timing[] = [];
  await timing(a); await timing(b); // warm-up
  for (let r = 0; r < runs; r++) { ta.push(await timing(a)); tb.push(await timing(b)); }
  return [ta, tb];
}

async function inference(bench: TaskBench, model: Network, network: string, size: number, runs: number, threads: number): Promise<InferenceRow> {
  const rng = new Rng(7);
  const x = tf.tensor4d(Float32Array.from({ length: size * size * 3 }, () => rng.next()), [1, size, size, 3]);
  const ort = await bench.ort(model, size, threads);
  let tfjsOut: Outputs = {}, ortOut: Outputs = {};
  let tfjsTimes: Timing[], ortTimes: Timing[];
  try {
    [tfjsTimes, ortTimes] = await alternate(runs, async () => { tfjsOut = await bench.forward(model, x); }, async () => { ortOut = await bench.forward(ort, x); });
  } finally {
    x.dispose();
    await ort.dispose();
  }
  const [t, o] = [medians(tfjsTimes), medians(ortTimes)];
  return {
    network, size, tfjsMs: round(t.ms, 1), ortMs: round(o.ms, 1), tfjsOverOrt: round(t.ms / o.ms),
    tfjsCpuMs: round(t.cpuMs, 1), ortCpuMs: round(o.cpuMs, 1), tfjsOverOrtCpu: round(t.cpuMs / o.cpuMs),
    maxAbsDiff: +maxAbsDiff(tfjsOut, ortOut, bench.onnxOutputs).toExponential(1), tfjsTimes: listed(tfjsTimes), ortTimes: listed(ortTimes),
  };
}

export interface OrtSetupRow {
  network: string; size: number; batch: number; threads: number;
  /** One session on `threads` intra-op threads, and `threads` single-thread sessions on worker threads. */
  sessionMs: number; workersMs: number; sessionOverWorkers: number; sessionCpuMs: number; workersCpuMs: number; maxAbsDiff: number;
  sessionTimes: number[][]; workersTimes: number[][];
}

/**
 * onnxruntime's two setups (export/ort-dense.ts runs each at the batches it measured faster) on one network's graph,
 * exported and opened once for every batch ortSetup times: one session on `threads` intra-op threads, and `threads`
 * single-thread sessions on worker threads.
 */
interface OrtSetups { session: OrtSession; workers: OrtWorkers; close(): Promise<void> }

async function openOrtSetups(bench: TaskBench, model: Network, size: number, threads: number): Promise<OrtSetups> {
  const graph = bench.onnx(model, size);
  const session = await createOrtSession(graph, { threads });
  const workers = await OrtWorkers.start(graph, { input: ONNX_INPUT, outputs: bench.onnxOutputs.map((name) => ({ name, perImage: true })), threads })
    .catch(async (e: unknown) => { await session.release(); throw e; });
  return { session, workers, close: async () => { await Promise.all([session.release(), workers.close()]); } };
}

/** The two setups on one batch, alternate passes. */
async function ortSetup(bench: TaskBench, { session, workers }: OrtSetups, network: string, size: number, batch: number, runs: number, threads: number): Promise<OrtSetupRow> {
  const rng = new Rng(13);
  const pixels = Float32Array.from({ length: batch * size * size * 3 }, () => rng.next());
  const named = (outs: OrtOutput[]): Outputs => Object.fromEntries(bench.onnxOutputs.map((n, i) => [n, outs[i].data]));
  let sessionOut: Outputs = {}, workersOut: Outputs = {};
  const [sessionTimes, workersTimes] = await alternate(runs,
    async () => { sessionOut = named(await runImages(session, pixels, batch, size, size, bench.onnxOutputs)); },
    async () => { workersOut = named(await workers.run(pixels, batch, size, size)); });
  const [s, w] = [medians(sessionTimes), medians(workersTimes)];
  return {
    network, size, batch, threads, sessionMs: round(s.ms, 1), workersMs: round(w.ms, 1), sessionOverWorkers: round(s.ms / w.ms),
    sessionCpuMs: round(s.cpuMs, 1), workersCpuMs: round(w.cpuMs, 1), maxAbsDiff: +maxAbsDiff(sessionOut, workersOut, bench.onnxOutputs).toExponential(1),
    sessionTimes: listed(sessionTimes), workersTimes: listed(workersTimes),
  };
}

export interface TrainingRow {
  network: string; backend: string; workers: number | null; size: number; batch: number; imagesPerPass: number | null;
  medianMs: number | null; imagesPerSec: number | null; medianCpuMs: number | null;
  /** Every timed step: [clock ms, CPU ms]. */
  times: number[][]; note: string;
}
export interface KernelShare { kernel: string; ms: number; share: number }
export interface KernelSplit { network: string; size: number; batch: number; profiledStepMs: number; kernelMs: number; customGradientMs: number; top: KernelShare[] }

/** The kernels of one step by registered kernel, heaviest first, each with its share of the step's clock time. */
async function kernelSplit(step: () => Promise<unknown>): Promise<Omit<KernelSplit, 'network' | 'size' | 'batch'>> {
  const t0 = performance.now();
  const prof = await tf.profile(async () => { await step(); });
  const profiledMs = performance.now() - t0;
  // A custom gradient's forward runs as an op under its scope's name ("unnamed scope"), its time holding the
  // kernels it calls, which are counted by name too: only registered kernels make the split.
  const by = new Map<string, number>();
  let composedMs = 0;
  for (const k of prof.kernels) {
    if (tf.getKernel(k.name, tf.getBackend())) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    else composedMs += k.kernelTimeMs as number;
  }
  const top = [...by].sort((a, b) => b[1] - a[1]).map(([kernel, ms]) => ({ kernel, ms: round(ms, 1), share: round(ms / profiledMs, 3) }));
  return { profiledStepMs: round(profiledMs, 1), kernelMs: round(top.reduce((t, k) => t + k.ms, 0), 1), customGradientMs: round(composedMs, 1), top };
}

/**
 * Training steps of the task's network on `device` as a run opens them (openDenseCompute: in this process, or the
 * device's kernels stepping it with the task's objective), the batch in passes as the loop cuts it; with `profile`
 * (this process only), one more step's kernel split.
 */
async function training(bench: TaskBench, device: ComputeDevice, variant: VariantName, size: number, batch: number, steps: number, profile: boolean) {
  const s = TrainSettings.parse({ data: 'bench: no dataset', task: bench.task, variant, imageSize: size, batchSize: batch });
  // The loop's trainer settings (OpenContext.trainer) without EMA: a benchmark step is the update alone.
  const settings: TrainerSettings = { adamw: { ...ADAMW, weightDecay: s.weightDecay }, labelSmoothing: s.labelSmoothing, gradClip: s.gradClip, emaDecay: null };
  const network = bench.networkFor(variant);
  const model = benchNetwork(network);
  const rng = new Rng(11);
  const x = Float32Array.from({ length: batch * size * size * 3 }, () => rng.next());
  const labels = bench.labels(model, batch, size, rng);
  const workers = device.info.workers ?? 1;
  // As the loop's passSize: the batch in passes of the workers' shares that fit the backend's memory.
  const perPass = passImages(batch, workers, imagesPerPass(device.info.tfBackend, variant, size));
  const { compute } = await openDenseCompute(device, model, settings, false);
  const indices = Int32Array.from({ length: batch }, (_, i) => i);
  let n = 0;
  const step = () => compute.step({
    batch: { x, labels, size, paths: [], indices, batchIndex: n, release: () => undefined },
    epoch: 0, lr: 1e-3, seed: s.seed, step: n++, frozenBackbone: false, imagesPerPass: perPass,
  });
  const times: Timing[] = [];
  let kernels: KernelSplit | null = null;
  try {
    await step(); // warm-up
    for (let i = 0; i < steps; i++) times.push(await timing(step));
    if (profile) kernels = { network, size, batch, ...(await kernelSplit(step)) };
  } finally {
    await compute.dispose();
  }
  const m = medians(times);
  const row: TrainingRow = {
    network, backend: device.info.name, workers, size, batch, imagesPerPass: Number.isFinite(perPass) ? perPass : null,
    medianMs: round(m.ms, 1), imagesPerSec: round((batch * 1000) / m.ms), medianCpuMs: round(m.cpuMs, 1), times: listed(times),
    note: workers > 1 ? "a run's step on the device's workers (openDenseCompute)" : "a run's step in this process (openDenseCompute)",
  };
  return { row, kernels };
}

/** The wasm-workers row: measured as a run trains there, or why not (the task's refusal, or a device that cannot open). */
async function onWorkers(bench: TaskBench, variant: VariantName, size: number, batch: number, steps: number): Promise<TrainingRow> {
  const unmeasured = (note: string): TrainingRow => ({
    network: bench.networkFor(variant), backend: 'wasm-workers', workers: null, size, batch, imagesPerPass: null, medianMs: null, imagesPerSec: null, medianCpuMs: null, times: [], note,
  });
  let device: ComputeDevice;
  try {
    ({ device } = await chooseDevice('wasm-workers', { deps: deviceDeps() }));
  } catch (e) {
    return unmeasured(`wasm-workers cannot open here: ${(e as Error).message}`);
  }
  try {
    return (await training(bench, device, variant, size, batch, steps, false)).row;
  } finally {
    await device.close();
  }
}

/** What a task's training part takes: its network's backbone, input size, batch and timed steps. */
export interface DenseTrainingOptions { trainVariant: VariantName; trainSize: number; batch: number; steps: number }

/**
 * A task's training on wasm in this process (with its step's kernel split) and on wasm-workers, as a run opens it:
 * the dense benches' training part, which `bench -- speed` also reports beside the classifier's (issue 23).
 */
export async function denseTraining(task: DenseTask, o: DenseTrainingOptions): Promise<{ rows: TrainingRow[]; kernels: KernelSplit }> {
  const bench = TASK_BENCHES[task];
  const report = await initBackend('wasm');
  const local = new LocalDevice(report.name);
  const here = await training(bench, local, o.trainVariant, o.trainSize, o.batch, o.steps, true);
  await local.close();
  console.log(`${here.row.network} training on ${here.row.backend}: ${here.row.imagesPerSec} images/s`);
  const workers = await onWorkers(bench, o.trainVariant, o.trainSize, o.batch, o.steps);
  console.log(`${workers.network} training on wasm-workers: ${workers.imagesPerSec ?? workers.note}${workers.imagesPerSec === null ? '' : ' images/s'}`);
  return { rows: [here.row, workers], kernels: here.kernels! };
}

/** denseTraining's rows and the top `top` kernels of its step, as tables. */
export function printDenseTraining(task: DenseTask, train: { rows: TrainingRow[]; kernels: KernelSplit }, o: { steps: number; top: number }, tfBackend: string): void {
  console.log(`\n${task} training (train-mode forward, backward, AdamW), median of ${o.steps} steps after one warm-up step (CPU: this process's CPU time)`);
  console.log(table(['network', 'backend', 'workers', 'size', 'batch', 'images/pass', 'ms/step', 'images/s', 'CPU ms/step', 'step'],
    train.rows.map((r) => [r.network, r.backend, r.workers ?? '–', `${r.size} px`, r.batch, r.imagesPerPass ?? '–', r.medianMs ?? '–', r.imagesPerSec ?? '–', r.medianCpuMs ?? '–', r.note])));
  const k = train.kernels;
  console.log(`\nKernel split of one ${k.network} step on ${tfBackend} (${k.size} px, batch ${k.batch}; tf.profile): the top ${o.top} kernels of ${k.kernelMs} ms`
    + ` in kernels,\n${k.profiledStepMs} ms for the step with the profiler (the rest: JavaScript, uploads, reading back); custom-gradient ops, whose kernels are`
    + ` counted by name here,\ntook ${k.customGradientMs} ms around them`);
  console.log(table(['kernel', 'ms', 'share of the step'], k.top.slice(0, o.top).map((r) => [r.kernel, r.ms, `${(100 * r.share).toFixed(1)} %`])));
}

export async function benchDense(task: DenseTask, opts: DenseBenchOptions = denseFlags(process.argv.slice(2), TASK_BENCHES[task])) {
  const bench = TASK_BENCHES[task];
  const o = {
    variants: opts.variants ?? networksOf(task), runs: opts.runs ?? 3, size: opts.size ?? bench.inferenceSize,
    trainVariant: opts.trainVariant ?? 'mobilevit_xxs' as VariantName, trainSize: opts.trainSize ?? bench.trainSize,
    batch: opts.batch ?? 8, steps: opts.steps ?? 2, ortThreads: opts.ortThreads ?? 2, top: opts.top ?? 12, setupBatches: opts.setupBatches ?? [1, 8],
  };
  const report = await initBackend('wasm');

  const inferenceRows: InferenceRow[] = [], setupRows: OrtSetupRow[] = [];
  for (const network of o.variants) {
    const model = benchNetwork(network);
    try {
      const r = await inference(bench, model, network, o.size, o.runs, o.ortThreads);
      inferenceRows.push(r);
      console.log(`${network}: TF.js ${r.tfjsMs} ms, onnxruntime ${r.ortMs} ms`);
      const setups = await openOrtSetups(bench, model, o.size, o.ortThreads);
      try {
        for (const batch of o.setupBatches) {
          const s = await ortSetup(bench, setups, network, o.size, batch, o.runs, o.ortThreads);
          setupRows.push(s);
          console.log(`${network}, batch ${batch}: one onnxruntime session ${s.sessionMs} ms, worker sessions ${s.workersMs} ms`);
        }
      } finally {
        await setups.close();
      }
    } finally {
      model.dispose();
    }
  }
  const train = await denseTraining(task, o);

  console.log(`\n${task} inference, batch 1, ${o.size}×${o.size}: TF.js ${report.tfBackend} (1 thread) against onnxruntime-node as predict runs the studio's`
    + `\nONNX export of the same network and weights (one session on ${o.ortThreads} intra-op threads), alternate passes after one warm-up each,`
    + `\nmedians of ${o.runs}; CPU: this process's CPU time per pass (every thread's), the work done, which other load disturbs less`);
  console.log(table(['network', 'TF.js ms', 'onnxruntime ms', 'TF.js / onnxruntime', 'TF.js CPU ms', 'onnxruntime CPU ms', 'CPU ratio', 'max |TF.js − ORT|'],
    inferenceRows.map((r) => [r.network, r.tfjsMs, r.ortMs, `${r.tfjsOverOrt}×`, r.tfjsCpuMs, r.ortCpuMs, `${r.tfjsOverOrtCpu}×`, r.maxAbsDiff])));
  console.log(`\nonnxruntime's setups on the same graph at ${o.size}×${o.size}: one session on ${o.ortThreads} intra-op threads against ${o.ortThreads} single-thread`
    + ` sessions\non worker threads, the batch cut across them (the studio runs one image on the first, several on the second), alternate passes`
    + ` after\none warm-up each, medians of ${o.runs}`);
  console.log(table(['network', 'batch', 'one session ms', 'worker sessions ms', 'session / workers', 'session CPU ms', 'workers CPU ms', 'max |diff|'],
    setupRows.map((r) => [r.network, r.batch, r.sessionMs, r.workersMs, `${r.sessionOverWorkers}×`, r.sessionCpuMs, r.workersCpuMs, r.maxAbsDiff])));
  printDenseTraining(task, train, o, report.tfBackend);

  const result = {
    machine: machine(), task,
    settings: { runs: o.runs, inferenceSize: o.size, ortThreads: o.ortThreads, ortSetupBatches: o.setupBatches, trainVariant: o.trainVariant, trainSize: o.trainSize, batch: o.batch, steps: o.steps, warmupSteps: 1 },
    inference: inferenceRows, ortSetups: setupRows, training: train.rows, kernels: train.kernels,
  };
  writeResult(opts.out ?? `bench/results/${task}.json`, result);
  return result;
}
