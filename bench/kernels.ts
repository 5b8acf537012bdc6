// The studio's SIMD kernels against TF.js's own wasm kernels, in one process (`npm run bench -- kernels`):
//   1. each kernel on the shapes of an XXS training step, the same tensors through both, interleaved rounds;
//   2. a whole XXS training step (128 px, batch 16) both ways, and where its kernel time goes (tf.profile):
//      "TF.js" is what a machine without clang runs (src/backend/wasm-simd-kernels.ts withTfjsKernels).
// The gradients are timed through tf.grad of a product with a fixed output gradient, so each of those rows
// also holds a forward convolution and an elementwise product, the same both ways. Writes bench/results/kernels.json.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { withTfjsKernels } from '../src/backend/wasm-simd-kernels.ts';
import { table } from '../src/cli/common.ts';
import { createModel } from '../src/model/index.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { stepSeeds } from '../src/util/random.ts';
import { machine, median, writeResult } from './machine.ts';

interface KernelCase { kernel: string; shapes: string; run: () => tf.Tensor }

function cases(): KernelCase[] {
  const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const [q, k] = [r([256, 64, 16], 1), r([256, 16, 64], 2)];
  const [x2, dy2] = [r([65536, 16], 3), r([65536, 32], 4)];
  const act = r([32, 64, 64, 32], 5);
  const [x3, w3] = [r([32, 32, 32, 48], 6), r([3, 3, 48, 48], 7)];
  const dy3 = tf.conv2d(x3 as tf.Tensor4D, w3 as tf.Tensor4D, 1, 1);
  const wd = r([3, 3, 32, 1], 8);
  const dyd = tf.depthwiseConv2d(act as tf.Tensor4D, wd as tf.Tensor4D, 1, 1);
  const [x1, w1] = [r([32, 32, 32, 48], 9), r([1, 1, 48, 96], 10)];
  const dy1 = r([32, 32, 32, 96], 12);
  return [
    { kernel: 'BatchMatMul', shapes: 'attention [256,64,16]·[256,16,64]', run: () => tf.matMul(q, k) },
    { kernel: 'BatchMatMul', shapes: 'weight gradient [65536,16]ᵀ·[65536,32]', run: () => tf.matMul(x2, dy2, true, false) },
    { kernel: 'Sum', shapes: '[32,64,64,32] over all but channels', run: () => tf.sum(act, [0, 1, 2]) },
    { kernel: 'Conv2DBackpropFilter', shapes: '3×3, [32,32,32,48] → 48', run: () => tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x3 as tf.Tensor4D, w as tf.Tensor4D, 1, 1), dy3)))(w3) },
    { kernel: 'DepthwiseConv2dNativeBackpropFilter', shapes: '3×3, [32,64,64,32]', run: () => tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(act as tf.Tensor4D, w as tf.Tensor4D, 1, 1), dyd)))(wd) },
    { kernel: 'Conv2DBackpropInput', shapes: '1×1, [32,32,32,48] → 96', run: () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w1 as tf.Tensor4D, 1, 0), dy1)))(x1) },
  ];
}

/** Median ms of `rounds` rounds of `runs` calls each, the two ways interleaved round by round. */
async function interleaved(rounds: number, runs: number, f: () => Promise<number[]> | number[]): Promise<{ studio: number; tfjs: number }> {
  const studio: number[] = [], tfjs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    studio.push(...(await f()));
    tfjs.push(...(await withTfjsKernels(async () => f())));
  }
  return { studio: median(studio), tfjs: median(tfjs) };
}

function timeCalls(run: () => tf.Tensor, runs: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const y = run();
    y.dataSync(); // wasm runs kernels synchronously; this reads nothing large but makes the end explicit
    times.push(performance.now() - t0);
    y.dispose();
  }
  return times;
}

/** Kernel ms by kernel name of one step, top ones. */
async function stepProfile(step: () => Promise<unknown>): Promise<Record<string, number>> {
  const prof = await tf.profile(async () => { await step(); });
  const by: Record<string, number> = {};
  for (const k of prof.kernels) by[k.name] = (by[k.name] ?? 0) + (k.kernelTimeMs as number);
  return by;
}

export async function benchKernels(opts: { rounds?: number } = {}) {
  const rounds = opts.rounds ?? Number(process.env.KERNELS_BENCH_ROUNDS ?? 5);
  const report = await initBackend('wasm');
  if (!report.kernels?.names.length) {
    console.log(`the studio's SIMD kernels are not in use here: ${report.kernels && 'reason' in report.kernels ? report.kernels.reason : 'not wasm'}`);
    return null;
  }
  const kernelRows = [];
  for (const c of cases()) {
    for (let i = 0; i < 2; i++) { c.run().dispose(); await withTfjsKernels(async () => c.run().dispose()); } // warm-up
    const t = await interleaved(rounds, 3, () => timeCalls(c.run, 3));
    kernelRows.push({ kernel: c.kernel, shapes: c.shapes, tfjsMs: +t.tfjs.toFixed(2), studioMs: +t.studio.toFixed(2), speedup: +(t.tfjs / t.studio).toFixed(1) });
    console.log(`${c.kernel} ${c.shapes}: TF.js ${t.tfjs.toFixed(2)} ms, studio ${t.studio.toFixed(2)} ms`);
  }

  const [size, batch] = [128, 16];
  const model = createModel('mobilevit_xxs', { numClasses: 10 });
  const trainer = new Trainer(model, { adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: 10, emaDecay: null });
  const x = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
  let n = 0;
  const step = () => { const s = n++; return trainer.step(x, labels, 1e-3, (p) => stepSeeds(1, s, p)); };
  const timed = async () => { const t0 = performance.now(); await step(); return [performance.now() - t0]; };
  await step(); await withTfjsKernels(step); // warm-up both ways
  const steps = await interleaved(Math.max(2, Math.ceil(rounds / 2)), 1, timed);
  const [studioProfile, tfjsProfile] = [await stepProfile(step), await withTfjsKernels(() => stepProfile(step))];
  trainer.dispose(); model.dispose(); x.dispose();

  console.log(`\nThe studio's SIMD kernels against TF.js's own (wasm, 1 thread), the same tensors, ${rounds} interleaved rounds of 3 calls, medians`);
  console.log(table(['kernel', 'shapes', 'TF.js ms', 'studio ms', 'speed-up'], kernelRows.map((r) => [r.kernel, r.shapes, r.tfjsMs, r.studioMs, `${r.speedup}×`])));
  console.log(`\nXXS training step, ${size} px, batch ${batch}: TF.js kernels ${steps.tfjs.toFixed(0)} ms, the studio's ${steps.studio.toFixed(0)} ms (${(steps.tfjs / steps.studio).toFixed(2)}×)`);
  const names = [...new Set([...Object.keys(tfjsProfile), ...Object.keys(studioProfile)])]
    .sort((a, b) => Math.max(tfjsProfile[b] ?? 0, studioProfile[b] ?? 0) - Math.max(tfjsProfile[a] ?? 0, studioProfile[a] ?? 0)).slice(0, 16);
  console.log('Kernel time of one step by kernel (tf.profile; composed kernels count their inner kernels too)');
  console.log(table(['kernel', 'TF.js ms', 'studio ms'], names.map((k) => [k, +(tfjsProfile[k] ?? 0).toFixed(1), +(studioProfile[k] ?? 0).toFixed(1)])));
  const result = { machine: machine(), kernels: kernelRows, step: { variant: 'mobilevit_xxs', size, batch, tfjsMs: +steps.tfjs.toFixed(1), studioMs: +steps.studio.toFixed(1) }, profile: { tfjs: tfjsProfile, studio: studioProfile } };
  writeResult('bench/results/kernels.json', result);
  return result;
}
