// The studio's SIMD kernels against TF.js's own wasm kernels, in one process (`npm run bench -- kernels`):
//   1. each kernel on the shapes of an XXS training step, the same tensors through both, interleaved rounds;
//   2. a whole XXS training step (128 px, batch 16; KERNELS_BENCH_STEP=256x16 for another) both ways, and where its
//      kernel time goes (tf.profile):
//      "TF.js" is what a machine without clang runs (src/backend/wasm-simd-kernels.ts withTfjsKernels).
// The filter gradients and the 1×1 input gradient are timed through tf.grad of a product with a fixed output
// gradient, so each of those rows also holds a forward convolution and an elementwise product, the same both
// ways; the depthwise input gradient's rows, the stem's filter gradient and the 3×3 input gradients run their
// kernel alone. The BatchNorm rows are the model's
// batchNormTraining, the fused kernels against the composed ops; the backward's row holds its forward too, as
// does the LayerNorm's (the model's layerNormLastAxis).
// The AdamW + EMA row is one update of each over an XXS's parameters, as a training step ends. Times are the
// process's CPU time (wasm runs on this one thread), which a machine shared with other work disturbs far less
// than the clock.
// Writes bench/results/kernels.json.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { withTfjsKernels } from '../src/backend/wasm-simd-kernels.ts';
import { table } from '../src/cli/common.ts';
import { batchNormTraining, layerNormLastAxis, softmaxLastAxis } from '../src/model/custom-grads.ts';
import { createModel } from '../src/model/index.ts';
import { AdamW } from '../src/optim/adamw.ts';
import { WeightEma } from '../src/optim/ema.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { stepSeeds } from '../src/util/random.ts';
import { machine, median, writeResult } from './machine.ts';

interface KernelCase { kernel: string; shapes: string; run: () => tf.Tensor }

/** AdamW and the EMA over an XXS's parameters (fixed gradients): one update of each, as a step ends. */
function updateCase(): KernelCase {
  const model = createModel('mobilevit_xxs', { numClasses: 10 });
  const params = [...model.params].map(([key, p]) => ({ key, variable: p.variable }));
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const ema = new WeightEma(params, 0.9998);
  const grads = new Map(params.map(({ key, variable }, i) => [key, tf.randomNormal(variable.shape, 0, 1e-3, 'float32', 20 + i)]));
  return {
    kernel: 'AdamW + EMA', shapes: `XXS, ${params.length} parameters`,
    run: () => { opt.apply(grads, 1e-3); ema.update(); return tf.scalar(0); },
  };
}

function cases(): KernelCase[] {
  const r = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const [q, k] = [r([256, 64, 16], 1), r([256, 16, 64], 2)];
  const [x2, dy2] = [r([65536, 16], 3), r([65536, 32], 4)];
  // A transformer's linear layer at 256 px, batch 8 (tokens × 64 · 64 × 64), and attention's pᵀ·dv on 20-wide heads.
  const [xl, wl] = [r([8192, 64], 20), r([64, 64], 21)];
  const [pa, dva] = [r([128, 64, 64], 22), r([128, 64, 20], 23)];
  const act = r([32, 64, 64, 32], 5);
  const [x3, w3] = [r([32, 32, 32, 48], 6), r([3, 3, 48, 48], 7)];
  const dy3 = tf.conv2d(x3 as tf.Tensor4D, w3 as tf.Tensor4D, 1, 1);
  const wd = r([3, 3, 32, 1], 8);
  const dyd = tf.depthwiseConv2d(act as tf.Tensor4D, wd as tf.Tensor4D, 1, 1);
  const [x1, w1] = [r([32, 32, 32, 48], 9), r([1, 1, 48, 96], 10)];
  // An XXS inverted residual's depthwise 3×3 at 128 px, batch 16: stride 1 on 32×32 × 96, stride 2 on 64×64 × 64.
  const [xs1, ws1] = [r([16, 32, 32, 96], 13), r([3, 3, 96, 1], 14)];
  const [xs2, ws2] = [r([16, 64, 64, 64], 15), r([3, 3, 64, 1], 16)];
  const [dys1, dys2, bias1] = [r([16, 32, 32, 96], 17), r([16, 32, 32, 64], 18), r([96], 19)];
  // The input gradient's kernel alone (through tf.grad, the forward and the product around it are most of the time).
  const depthwiseInputGrad = (x: tf.Tensor, w: tf.Tensor, stride: number, dy: tf.Tensor) => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput',
    { dy, filter: w }, { strides: stride, pad: 1, dilations: 1, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const dy1 = r([32, 32, 32, 96], 12);
  // Regular convolutions' gradient kernels alone, XXS at 128 px, batch 16: the stem's filter gradient (3→16, stride
  // 2), and the input gradients of a MobileViT block's fusion 3×3 (96→48 on 16×16) and conv_kxk (64 on 8×8).
  const convGrad = (name: string, inputs: tf.NamedTensorMap, stride: number, shape: number[], key: 'filterShape' | 'inputShape') => () =>
    tf.engine().runKernel(name, inputs, { strides: stride, pad: 1, dilations: 1, [key]: shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const [xst, dyst] = [r([16, 128, 128, 3], 24), r([16, 64, 64, 16], 25)];
  const [wf, dyf, wk, dyk] = [r([3, 3, 96, 48], 26), r([16, 16, 16, 48], 27), r([3, 3, 64, 64], 28), r([16, 8, 8, 64], 29)];
  // An XXS inverted residual's expansion at 128 px, batch 16: BatchNorm + SiLU on [16,64,64,32].
  const [xb, gb, bb, dyb] = [r([16, 64, 64, 32], 20), r([32], 21), r([32], 22), r([16, 64, 64, 32], 23)];
  const bnSilu = (v: tf.Tensor) => batchNormTraining(v, gb as tf.Tensor1D, bb as tf.Tensor1D, { eps: 1e-5, act: 'silu' });
  // An XXS inverted residual's 1×1 expansion at 128 px, batch 16 (16 → 32 on 64×64).
  const [xp, wp] = [r([16, 64, 64, 16], 30), r([1, 1, 16, 32], 31)];
  // An XXS transformer's LayerNorm at 256 px, batch 8: 8·4 patches × 256 tokens of 64.
  const [xln, gln, bln, dyln] = [r([8, 4, 256, 64], 32), r([64], 33), r([64], 34), r([8, 4, 256, 64], 35)];
  const layerNorm = (v: tf.Tensor) => layerNormLastAxis(v, gln as tf.Tensor1D, bln as tf.Tensor1D, 1e-5);
  // Attention's weights in the first MobileViT block at 256 px, batch 8 (B·P = 32 sequences, 4 heads, 256 tokens).
  const [sm, dsm] = [r([32, 4, 256, 256], 36), r([32, 4, 256, 256], 37)];
  return [
    { kernel: 'BatchMatMul', shapes: 'attention [256,64,16]·[256,16,64]', run: () => tf.matMul(q, k) },
    { kernel: 'BatchMatMul', shapes: 'weight gradient [65536,16]ᵀ·[65536,32]', run: () => tf.matMul(x2, dy2, true, false) },
    { kernel: 'BatchMatMul', shapes: 'linear [8192,64]·[64,64]', run: () => tf.matMul(xl, wl) },
    { kernel: 'BatchMatMul', shapes: 'attention pᵀ·dv [128,64,64]ᵀ·[128,64,20]', run: () => tf.matMul(pa, dva, true, false) },
    // A new filter each call, as in training (XNNPACK packs each filter tensor once).
    { kernel: 'Conv2D', shapes: '1×1, [16,64,64,16] → 32, a new filter', run: () => tf.tidy(() => tf.conv2d(xp as tf.Tensor4D, tf.add(wp, 0) as tf.Tensor4D, 1, 0)) },
    { kernel: 'Sum', shapes: '[32,64,64,32] over all but channels', run: () => tf.sum(act, [0, 1, 2]) },
    { kernel: 'Conv2DBackpropFilter', shapes: '3×3, [32,32,32,48] → 48', run: () => tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x3 as tf.Tensor4D, w as tf.Tensor4D, 1, 1), dy3)))(w3) },
    { kernel: 'Conv2DBackpropFilter', shapes: 'stem 3×3 s2, [16,128,128,3] → 16', run: convGrad('Conv2DBackpropFilter', { x: xst, dy: dyst }, 2, [3, 3, 3, 16], 'filterShape') },
    { kernel: 'Conv2DBackpropInput', shapes: '3×3, [16,16,16,96] ← 48', run: convGrad('Conv2DBackpropInput', { dy: dyf, filter: wf }, 1, [16, 16, 16, 96], 'inputShape') },
    { kernel: 'Conv2DBackpropInput', shapes: '3×3, [16,8,8,64] ← 64', run: convGrad('Conv2DBackpropInput', { dy: dyk, filter: wk }, 1, [16, 8, 8, 64], 'inputShape') },
    { kernel: 'DepthwiseConv2dNativeBackpropFilter', shapes: '3×3, [32,64,64,32]', run: () => tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(act as tf.Tensor4D, w as tf.Tensor4D, 1, 1), dyd)))(wd) },
    { kernel: 'Conv2DBackpropInput', shapes: '1×1, [32,32,32,48] → 96', run: () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w1 as tf.Tensor4D, 1, 0), dy1)))(x1) },
    { kernel: 'DepthwiseConv2dNative', shapes: '3×3 s1, [16,32,32,96]', run: () => tf.depthwiseConv2d(xs1 as tf.Tensor4D, ws1 as tf.Tensor4D, 1, 1) },
    // XNNPACK packs a filter once per filter tensor: a training step's filters are new each step.
    { kernel: 'DepthwiseConv2dNative', shapes: '3×3 s1, [16,32,32,96], a new filter', run: () => tf.tidy(() => tf.depthwiseConv2d(xs1 as tf.Tensor4D, tf.add(ws1, 0) as tf.Tensor4D, 1, 1)) },
    { kernel: 'DepthwiseConv2dNative', shapes: '3×3 s2, [16,64,64,64]', run: () => tf.depthwiseConv2d(xs2 as tf.Tensor4D, ws2 as tf.Tensor4D, 2, 1) },
    { kernel: 'FusedDepthwiseConv2D', shapes: '3×3 s1 + bias + relu6, [16,32,32,96]',
      run: () => tf.fused.depthwiseConv2d({ x: xs1 as tf.Tensor4D, filter: ws1 as tf.Tensor4D, strides: 1, pad: 1, bias: bias1, activation: 'relu6' }) },
    { kernel: 'DepthwiseConv2dNativeBackpropInput', shapes: '3×3 s1, [16,32,32,96]', run: () => depthwiseInputGrad(xs1, ws1, 1, dys1) },
    { kernel: 'DepthwiseConv2dNativeBackpropInput', shapes: '3×3 s2, [16,64,64,64]', run: () => depthwiseInputGrad(xs2, ws2, 2, dys2) },
    { kernel: 'StudioBatchNormMoments + StudioBatchNormAct', shapes: 'SiLU, [16,64,64,32]', run: () => bnSilu(xb) },
    { kernel: 'StudioBatchNormActGrad', shapes: 'SiLU, [16,64,64,32], with its forward', run: () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(bnSilu(v), dyb)))(xb) },
    { kernel: 'StudioLayerNorm + StudioLayerNormGrad', shapes: '[8,4,256,64], with its forward', run: () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(layerNorm(v), dyln)))(xln) },
    // The backward's row holds its forward, with its output gradient given (no loss around it).
    { kernel: 'StudioSoftmax', shapes: '[32,4,256,256]', run: () => softmaxLastAxis(sm) },
    { kernel: 'StudioSoftmax + StudioSoftmaxGrad', shapes: '[32,4,256,256], with its forward', run: () => tf.grad(softmaxLastAxis)(sm, dsm) },
    updateCase(),
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

/** Milliseconds of this process's CPU time since `from` (process.cpuUsage()). */
const cpuMs = (from: NodeJS.CpuUsage): number => { const u = process.cpuUsage(from); return (u.user + u.system) / 1000; };

function timeCalls(run: () => tf.Tensor, runs: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    const y = run(); // wasm runs kernels synchronously: the work is done when this returns
    times.push(cpuMs(t0));
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

/** The whole step's size and batch: KERNELS_BENCH_STEP=<size>x<batch> (128x16 by default; issue 23's table: 256x16). */
export function stepShape(value = '128x16'): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m || +m[1] < 32 || +m[2] < 1) throw new RangeError(`KERNELS_BENCH_STEP must be <size>x<batch> with a size of at least 32 px (256x16), got "${value}"`);
  return [+m[1], +m[2]];
}

export async function benchKernels(opts: { rounds?: number; step?: string } = {}) {
  const rounds = opts.rounds ?? Number(process.env.KERNELS_BENCH_ROUNDS ?? 5);
  const [size, batch] = stepShape(opts.step ?? process.env.KERNELS_BENCH_STEP);
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

  const model = createModel('mobilevit_xxs', { numClasses: 10 });
  const trainer = new Trainer(model, { adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: 10, emaDecay: null });
  const x = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
  let n = 0;
  const step = () => { const s = n++; return trainer.step(x, labels, 1e-3, (p) => stepSeeds(1, s, p)); };
  const timed = async () => { const t0 = process.cpuUsage(); await step(); return [cpuMs(t0)]; };
  await step(); await withTfjsKernels(step); // warm-up both ways
  const steps = await interleaved(Math.max(2, Math.ceil(rounds / 2)), 1, timed);
  const [studioProfile, tfjsProfile] = [await stepProfile(step), await withTfjsKernels(() => stepProfile(step))];
  trainer.dispose(); model.dispose(); x.dispose();

  console.log(`\nThe studio's SIMD kernels against TF.js's own (wasm, 1 thread), the same tensors, ${rounds} interleaved rounds of 3 calls, medians of CPU ms`);
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
