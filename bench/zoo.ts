// `npm run bench -- zoo`: the quick fine-tune (train --head-only, issue 21), with the previous path in the same run.
//
// 1. Speed at the size: 1,000 images at 224 px (4 classes, 800 train + 200 val), from `train` to a saved,
//    evaluated model, through the CLI. New path: the defaults (features on the runtime measured faster here, the
//    classifier solved to its optimum; the measurement is part of the time, as on a machine's first run).
//    Previous path: TF.js features (MOBILEVIT_INFERENCE_RUNTIME=tfjs) and 10 epochs of AdamW steps at lr 0.01.
//    The backbone is the XXS fixture's (the real Hub cannot be reached here), which costs what ImageNet weights cost.
//    PyTorch beside them (bench/pytorch.ts): the same weights, images, evaluation transform (the studio run's
//    recorded crop and flips), features, and head solve, on 2 threads; the table says which python, or why none.
// 2. Transfer, the kind of task: MobileViT-XXS trained on five Fashion-MNIST classes at 64 px (Debian's
//    dataset-fashion-mnist; the backbone is trained once and kept in ROOT), then five *other* classes with 20
//    training images each, quick fine-tuned at 64 px: the defaults, the previous defaults (10 epochs of steps at
//    the default lr), and the linear-probe reference (bench/probe.ts: bilinear resizes, AdamW 1e-2, 300 full-batch
//    steps), whose top-1 the default should be within 0.03 of.
//
// 3. The feature passes alone, in this process, on the same images and weights: the previous onnxruntime setup
//    (one session on every core, its intra-op threads synchronising at every node) against the current one
//    (export/ort-workers.ts: one single-thread session per core on worker threads), interleaved, with the ratio
//    and the largest difference of their rows.
//
// Environment: ZOO_BENCH_BACKEND (default wasm), ZOO_BENCH_IMAGES (default 1000), ZOO_BENCH_SKIP_SPEED=1.
import { availableParallelism } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { table } from '../src/cli/common.ts';
import type { TrainEvent } from '../src/protocol/contract.ts';
import { collect, jsonLines } from './child.ts';
import { writeResult } from './machine.ts';
import { fashionMnistFolder, fashionMnistInstalled } from './fashion-mnist.ts';
import { linearProbe } from './probe.ts';
import { findPython, pytorchQuick, type Python } from './pytorch.ts';
import { REFERENCE_PREPROCESSING } from '../src/protocol/recipe.ts';
import { initBackend } from '../src/backend/index.ts';
import { buildEvalSet, evalBatches } from '../src/data/loader.ts';
import { scanDataset } from '../src/data/scan.ts';
import { OrtFeatures, exportFeaturesOnnx, FEATURES_OUTPUT } from '../src/export/ort-features.ts';
import { createOrtSession, runImages } from '../src/export/ort.ts';
import { createModel } from '../src/model/index.ts';
import { loadForFineTune } from '../src/train/head-only.ts';
import { median } from './machine.ts';
import { hueDataset as writeHueDataset } from '../test/helpers/dataset.ts';

const BACKEND = process.env.ZOO_BENCH_BACKEND ?? 'wasm';
const IMAGES = Number(process.env.ZOO_BENCH_IMAGES ?? 1000);
const ROOT = '/tmp/mobilevit-zoo-bench';
const FIXTURE = resolve('test/fixtures/mobilevit_xxs_256_b1_c1000.weights.safetensors');

/** The speed task's generated data (test/helpers/dataset.ts), built once into `dir`. */
async function hueDataset(dir: string, hues: number[], perClass: number, valPerClass: number, size: number, seed: number): Promise<string> {
  if (existsSync(join(dir, '.done'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  await writeHueDataset(dir, hues, perClass, valPerClass, size, seed);
  writeFileSync(join(dir, '.done'), '');
  return dir;
}

interface Run {
  label: string; command: string; seconds: number; top1: number | null; weights: string | null;
  featureSeconds?: number; notes?: string[]; pytorch?: unknown;
}

async function cli(label: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const shownEnv = Object.entries(env).map(([k, v]) => `${k}=${v} `).join('');
  const command = `${shownEnv}mobilevit-studio ${args.join(' ')}`;
  const { out, err, code, seconds } = await collect(process.execPath, [resolve('bin/mobilevit-studio.mjs'), ...args, '--json', '--backend', BACKEND], env);
  if (code !== 0) throw new Error(`${command}: exit ${code}\n${err.slice(-2000)}`);
  const events = jsonLines<TrainEvent & { time: number }>(out);
  const fin = events.find((e) => e.type === 'finished') as Extract<TrainEvent, { type: 'finished' }> | undefined;
  const started = events.find((e) => e.type === 'started');
  const firstStep = events.find((e) => e.type === 'step');
  const notes = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message)
    .filter((m) => /backbone features on|solved to its optimum/.test(m));
  return {
    label, command, seconds, top1: fin?.best?.top1 ?? fin?.val?.top1 ?? null, weights: fin?.weights ?? null, notes,
    ...(started && firstStep ? { featureSeconds: (firstStep.time - started.time) / 1000 } : {}),
  };
}

/**
 * PyTorch's quick fine-tune of the task the studio's run `studio` did, with the preprocessing that run recorded
 * (its recipe's evaluation crop and flips; the studio's interpolation), as a row of the table.
 */
async function pytorchRow(py: Python, label: string, studio: Run, data: string, weights: string, size: number): Promise<Run> {
  const record = JSON.parse(readFileSync(join(dirname(dirname(studio.weights!)), 'run.json'), 'utf8')) as { recipe: { settings: { evalCrop: number; augmentation: { hflip: boolean } } } };
  const { evalCrop, augmentation } = record.recipe.settings;
  const r = await pytorchQuick(py, data, weights, size, evalCrop, REFERENCE_PREPROCESSING.interpolation, augmentation.hflip);
  return {
    label, command: r.command, seconds: r.processSeconds, top1: r.top1, weights: null, featureSeconds: r.featureSeconds, pytorch: r,
    notes: [`torch ${r.torch}, timm ${r.timm}, ${r.threads} threads (${py.description}): ${r.seconds.toFixed(1)} s from the first image read to the trained head (features ${r.featureSeconds.toFixed(1)} s, head ${r.headSeconds.toFixed(1)} s: L-BFGS on ${r.rows} rows, weight decay ${r.weightDecay} by held-out loss, ${r.iterations} iterations); ${(r.processSeconds - r.seconds).toFixed(1)} s of interpreter start, imports and model build`],
  };
}

/** The five-class source backbone at 64 px, trained once and kept (its command is in the result). */
async function fashionBackbone(ws: string): Promise<{ weights: string; run: Run | null }> {
  const kept = join(ROOT, 'fashion-source-xxs-64.safetensors');
  if (existsSync(kept)) return { weights: kept, run: null };
  const source = await fashionMnistFolder(join(ROOT, 'fashion-source'), [0, 1, 2, 3, 4], 400, 40);
  const run = await cli('pretrain XXS on 5 Fashion-MNIST classes (64 px, 8 epochs)', ['train', '--data', source, '--workspace', ws, '--image-size', '64', '--epochs', '8', '--batch-size', '32', '--lr', '0.004', '--seed', '1']);
  copyFileSync(run.weights!, kept);
  return { weights: kept, run };
}

/** Per-image milliseconds of the feature passes of both onnxruntime setups, interleaved over 3 rounds of `images` images. */
async function featureSessions(data: string, size: number, images: number): Promise<Record<string, unknown>> {
  await initBackend('wasm');
  const scan = await scanDataset(data);
  const set = await buildEvalSet(scan.train.slice(0, images), size);
  const model = createModel('mobilevit_xxs', { numClasses: scan.classes.length, seed: 0 });
  loadForFineTune(model, FIXTURE, scan.classes);
  const threads = availableParallelism();
  const previous = await createOrtSession(exportFeaturesOnnx(model, size), { threads });
  const current = await OrtFeatures.create(model, size, threads);
  model.dispose();
  const batches: { x: Float32Array; n: number }[] = [];
  for await (const b of evalBatches(set, 16)) batches.push({ x: b.x.slice(), n: b.indices.length });
  const setups = {
    [`previous: one session, ${threads} intra-op threads`]: async (b: { x: Float32Array; n: number }) => (await runImages(previous, b.x, b.n, size, size, [FEATURES_OUTPUT]))[0].data,
    [`current: ${threads} single-thread sessions on worker threads`]: (b: { x: Float32Array; n: number }) => current.features(b.x, b.n),
  };
  const ms: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const rows: Record<string, Float32Array[]> = {};
  for (const run of Object.values(setups)) await run(batches[0]); // warm-up
  for (let round = 0; round < 3; round++) {
    for (const [name, run] of Object.entries(setups)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = [];
      for (const b of batches) out.push(await run(b));
      const c = process.cpuUsage(c0);
      (ms[name] ??= []).push((performance.now() - t0) / images);
      (cpu[name] ??= []).push((c.user + c.system) / 1000 / images);
      rows[name] = out;
    }
  }
  await Promise.all([previous.release(), current.dispose()]);
  const [a, b] = Object.values(rows);
  let diff = 0;
  a.forEach((r, i) => r.forEach((v, j) => { diff = Math.max(diff, Math.abs(v - b[i][j])); }));
  const [before, after] = Object.keys(setups).map((k) => median(ms[k]));
  return {
    size, images, threads, msPerImage: Object.fromEntries(Object.keys(setups).map((k) => [k, median(ms[k])])),
    cpuMsPerImage: Object.fromEntries(Object.keys(setups).map((k) => [k, median(cpu[k])])), speedup: before / after, maxAbsDiff: diff,
  };
}

export async function benchZoo(): Promise<unknown> {
  mkdirSync(ROOT, { recursive: true });
  const ws = join(ROOT, 'ws');
  rmSync(ws, { recursive: true, force: true });
  // The runtime choice is kept per machine in the default workspace: a fresh one, so the new path measures.
  const fresh = { MOBILEVIT_WORKSPACE: ws };
  const runs: Run[] = [];
  const notes: string[] = [];
  const py = findPython(ROOT);
  if ('missing' in py) notes.push(py.missing);
  let sessions: Record<string, unknown> | null = null;
  if (!process.env.ZOO_BENCH_SKIP_SPEED) {
    const perClass = Math.round(IMAGES / 4);
    const big = await hueDataset(join(ROOT, `speed-${IMAGES}`), [30, 120, 210, 300], Math.round(perClass * 0.8), Math.round(perClass * 0.2), 256, 7);
    sessions = await featureSessions(big, 224, 128);
    const common = ['train', '--data', big, '--workspace', ws, '--head-only', '--weights', FIXTURE, '--variant', 'mobilevit_xxs', '--image-size', '224'];
    runs.push(await cli(`quick fine-tune, ${IMAGES} images at 224 px: previous path (TF.js features, 10 epochs of steps)`, [...common, '--epochs', '10', '--lr', '0.01', '--batch-size', '32'], { ...fresh, MOBILEVIT_INFERENCE_RUNTIME: 'tfjs' }));
    const studio = await cli(`quick fine-tune, ${IMAGES} images at 224 px: defaults (fastest runtime, solved head)`, common, fresh);
    runs.push(studio);
    if (!('missing' in py)) {
      const torch = await pytorchRow(py, `quick fine-tune, ${IMAGES} images at 224 px: PyTorch (same features and head solve)`, studio, big, FIXTURE, 224);
      runs.push(torch);
      notes.push(`studio defaults / PyTorch wall time: ${(studio.seconds / torch.seconds).toFixed(2)}x (process to process)`);
    }
  }
  let probe: number | null = null;
  if (fashionMnistInstalled()) {
    const { weights, run } = await fashionBackbone(ws);
    if (run) runs.push(run);
    const target = await fashionMnistFolder(join(ROOT, 'fashion-target'), [5, 6, 7, 8, 9], 20, 60);
    const common = ['train', '--data', target, '--workspace', ws, '--head-only', '--weights', weights, '--image-size', '64'];
    const studio = await cli('transfer: quick fine-tune, defaults', common, fresh);
    runs.push(studio);
    if (!('missing' in py)) runs.push(await pytorchRow(py, 'transfer: quick fine-tune in PyTorch (same features and head solve)', studio, target, weights, 64));
    runs.push(await cli('transfer: quick fine-tune, previous defaults (10 epochs of steps, lr 0.002)', [...common, '--epochs', '10'], { ...fresh, MOBILEVIT_INFERENCE_RUNTIME: 'tfjs' }));
    probe = await linearProbe(target, weights, 'mobilevit_xxs', 64);
  } else {
    notes.push('transfer task skipped: apt-get install dataset-fashion-mnist');
  }
  const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);
  console.log(table(['run', 'seconds', 'to first step s', 'best val top-1'],
    [...runs.map((r) => [r.label, r.seconds.toFixed(1), r.featureSeconds !== undefined ? r.featureSeconds.toFixed(1) : '', pct(r.top1)]),
      ...(probe === null ? [] : [['transfer: linear-probe reference (bench/probe.ts)', '', '', pct(probe)]])]));
  for (const r of runs) {
    console.log(`  ${r.command}`);
    for (const n of r.notes ?? []) console.log(`    ${n}`);
  }
  for (const n of notes) console.log(n);
  if (sessions) {
    console.log(`\nfeature passes on onnxruntime, this process, ${sessions.images} images at ${sessions.size} px, medians of 3 interleaved rounds:`);
    console.log(table(['setup', 'ms/image', 'CPU ms/image'], Object.entries(sessions.msPerImage as Record<string, number>).map(([k, v]) => [k, v.toFixed(1), (sessions!.cpuMsPerImage as Record<string, number>)[k].toFixed(1)])));
    console.log(`  ${(sessions.speedup as number).toFixed(2)}x; rows differ by at most ${(sessions.maxAbsDiff as number).toExponential(1)}`);
  }
  const result = { backend: BACKEND, python: 'missing' in py ? null : py.description, runs, transferProbeTop1: probe, featureSessions: sessions, notes };
  writeResult('bench/results/zoo.json', result);
  return result;
}
