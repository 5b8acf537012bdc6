// The studio's SIMD kernels on TF.js's wasm backend: built from source here (CI installs clang), checked before
// use, and equal to the cpu backend's products on every shape the kernel handles (transposes, broadcast batches,
// sizes that leave tails in every loop), with TF.js's own kernel answering the rest.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { BackendReport } from '../../src/backend/report.ts';
import { checkKernelModule, withTfjsKernels } from '../../src/backend/wasm-simd-kernels.ts';
import { ROOT, WASM_KERNELS } from '../../src/build/outputs.ts';
import { fusedBatchNormFits, transposedMatMulIsFast } from '../../src/util/kernel-traits.ts';
import { Rng } from '../../src/util/random.ts';

let report: BackendReport;
beforeAll(async () => { report = await initBackend('wasm'); }, 120_000);

function values(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

/** The product on `backend` as plain numbers. */
async function on(backend: string, a: { shape: number[]; data: Float32Array }, b: { shape: number[]; data: Float32Array }, ta: boolean, tb: boolean) {
  await tf.setBackend(backend);
  const x = tf.tensor(a.data, a.shape), y = tf.tensor(b.data, b.shape);
  const z = tf.matMul(x, y, ta, tb);
  const out = { shape: z.shape, data: Array.from(await z.data()) };
  tf.dispose([x, y, z]);
  return out;
}

describe("the studio's wasm SIMD kernels", () => {
  it('are built and in use on wasm, and say so in the backend line', () => {
    expect(report.kernels).toEqual({ names: ['BatchMatMul', 'Conv2D', 'FusedConv2D', 'Sum', 'Mean', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNative', 'FusedDepthwiseConv2D', 'DepthwiseConv2dNativeBackpropInput', 'StudioBatchNormMoments', 'StudioBatchNormAct', 'StudioBatchNormActGrad',
      'StudioLayerNorm', 'StudioLayerNormGrad',
      'StudioAdamW', 'StudioEma', 'StudioSoftmaxCrossEntropy', 'StudioSoftmax', 'StudioSoftmaxGrad'] });
    expect(transposedMatMulIsFast('wasm')).toBe(true);
    expect(transposedMatMulIsFast('cpu')).toBe(false);
  });

  it('BatchMatMul equals the cpu backend: batches, broadcasts, transposes, every loop tail', async () => {
    const cases: Array<[number[], number[]]> = [
      [[3, 5, 7], [3, 7, 9]], // tails: 5 rows (4 + 1), 9 columns (8 + 1)
      [[2, 2, 64, 16], [2, 2, 16, 64]], // attention's scores, blocks only
      [[4, 13, 6], [6, 11]], // b broadcast: one matrix for the batch
      [[1, 6, 3], [5, 3, 10]], // a broadcast
      [[70, 12], [12, 20]], // 2-D
      [[300, 5], [5, 3]], // k tiles (gemm_tn tiles k by 128)
      [[9, 130], [130, 13]], // every column path at once, 13 = 8 + 4 + 1, on b's panels (9 rows = 8 + 1) and with a transposed
      [[2, 0, 4], [2, 4, 3]], // empty
    ];
    for (const [sa, sb] of cases) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        const a = { shape: swap(sa, ta), data: values(swap(sa, ta), 1) }, b = { shape: swap(sb, tb), data: values(swap(sb, tb), 2) };
        const want = await on('cpu', a, b, ta, tb);
        const got = await on('wasm', a, b, ta, tb);
        expect(got.shape, `${sa}·${sb} ${ta} ${tb}`).toEqual(want.shape);
        got.data.forEach((v, i) => expect(Math.abs(v - want.data[i]), `${sa}·${sb} ${ta} ${tb} [${i}]`).toBeLessThan(1e-5));
      }
    }
  });

  it('Sum and Mean over the leading axes equal the cpu backend (keepDims, channel tails); other axes stay with TF.js', async () => {
    for (const shape of [[2, 5, 6, 37], [9, 16], [3, 1, 4, 3]]) {
      const data = values(shape, 3);
      const lead = shape.slice(0, -1).map((_, i) => i);
      for (const axes of [lead, [...lead].reverse(), [shape.length - 1], [0]]) {
        for (const keepDims of [false, true]) {
          const results: Record<string, { shape: number[]; data: number[] }> = {};
          for (const backend of ['cpu', 'wasm']) {
            await tf.setBackend(backend);
            const x = tf.tensor(data, shape);
            const [s, m] = [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)];
            results[backend] = { shape: s.shape, data: [...(await s.data()), ...(await m.data())] };
            tf.dispose([x, s, m]);
          }
          expect(results.wasm.shape, `${shape} ${axes} ${keepDims}`).toEqual(results.cpu.shape);
          results.wasm.data.forEach((v, i) => expect(Math.abs(v - results.cpu.data[i]), `${shape} ${axes} [${i}]`).toBeLessThan(1e-5));
        }
      }
    }
  });

  it("the depthwise filter gradient equals the cpu backend's (strides, paddings, odd sizes, channel tails)", async () => {
    const cases: Array<{ x: number[]; k: number; stride: number; pad: 'valid' | 'same' | number }> = [
      { x: [2, 9, 7, 6], k: 3, stride: 1, pad: 1 },
      { x: [2, 9, 7, 6], k: 3, stride: 2, pad: 1 },
      { x: [1, 8, 8, 8], k: 3, stride: 2, pad: 'same' },
      { x: [3, 6, 5, 5], k: 5, stride: 1, pad: 'valid' },
    ];
    for (const c of cases) {
      const [b, , , ch] = c.x;
      const xs = values(c.x, 5), ws = values([c.k, c.k, ch, 1], 6);
      const grads: Record<string, number[]> = {};
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
        const w = tf.tensor4d(ws, [c.k, c.k, ch, 1]);
        const y = tf.depthwiseConv2d(x, w, c.stride, c.pad);
        const r = tf.tensor(values(y.shape, 7), y.shape);
        const g = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(x, f as tf.Tensor4D, c.stride, c.pad), r)))(w);
        grads[backend] = Array.from(await g.data());
        expect(g.shape).toEqual([c.k, c.k, ch, 1]);
        tf.dispose([x, w, y, r, g]);
      }
      const scale = Math.max(...grads.cpu.map(Math.abs));
      grads.wasm.forEach((v, i) => expect(Math.abs(v - grads.cpu[i]) / scale, `${JSON.stringify(c)} [${i}] of batch ${b}`).toBeLessThan(1e-5));
    }
  });

  it("the convolution filter and input gradients equal the cpu backend's (3×3 and 1×1, strides, paddings, the stem's 3 channels, tails)", async () => {
    const cases: Array<{ x: number[]; k: number; co: number; stride: number; pad: 'valid' | 'same' | number }> = [
      { x: [2, 9, 7, 6], k: 3, co: 10, stride: 1, pad: 1 },
      { x: [2, 12, 12, 3], k: 3, co: 16, stride: 2, pad: 1 }, // the stem
      { x: [1, 8, 9, 8], k: 3, co: 8, stride: 2, pad: 'same' },
      { x: [3, 6, 5, 5], k: 5, co: 7, stride: 1, pad: 'valid' },
      { x: [2, 6, 6, 12], k: 1, co: 9, stride: 2, pad: 0 },
      { x: [2, 5, 7, 12], k: 1, co: 10, stride: 1, pad: 0 }, // pointwise: one product each way
      { x: [1, 4, 4, 5], k: 1, co: 3, stride: 1, pad: 'same' },
    ];
    for (const c of cases) {
      const ci = c.x[3];
      const xs = values(c.x, 8), ws = values([c.k, c.k, ci, c.co], 9);
      const grads: Record<string, number[]> = {};
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
        const w = tf.tensor4d(ws, [c.k, c.k, ci, c.co]);
        const y = tf.conv2d(x, w, c.stride, c.pad);
        const r = tf.tensor(values(y.shape, 10), y.shape);
        const g = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.stride, c.pad), r)))(w);
        const gx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w, c.stride, c.pad), r)))(x);
        expect(gx.shape).toEqual(c.x);
        grads[backend] = [...(await g.data()), ...(await gx.data())];
        tf.dispose([x, w, y, r, g, gx]);
      }
      const scale = Math.max(...grads.cpu.map(Math.abs));
      grads.wasm.forEach((v, i) => expect(Math.abs(v - grads.cpu[i]) / scale, `${JSON.stringify(c)} [${i}]`).toBeLessThan(1e-5));
    }
  });

  it("leaves TF.js's own kernel the cases it does not handle, with TF.js's own errors", async () => {
    await tf.setBackend('wasm');
    // int32 products: TF.js's own kernel answers (it does not multiply integers on wasm, and says so)
    const [p, q] = [tf.tensor2d([[1, 2]], [1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32')];
    expect(() => tf.matMul(p, q)).toThrow(/non-float32/);
    // batches that broadcast to a grid ([2,1] with [1,3]): not "the same batch or one matrix"
    const a = tf.ones([2, 1, 2, 2]), b = tf.ones([1, 3, 2, 2]);
    const c = tf.matMul(a, b);
    expect(c.shape).toEqual([2, 3, 2, 2]);
    expect(Array.from(await c.data()).every((v) => v === 2)).toBe(true);
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]))).toThrow(/inner shapes/);
    tf.dispose([p, q, a, b, c]);
  });

  it("withTfjsKernels runs TF.js's own kernels and formulations for its duration, then the studio's again", async () => {
    const studio = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    const inside = await withTfjsKernels(async () => ({
      kernel: tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc, fast: transposedMatMulIsFast('wasm'), fused: fusedBatchNormFits('wasm', 8),
    }));
    expect(inside.kernel).not.toBe(studio);
    expect(inside).toMatchObject({ fast: false, fused: false });
    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(studio);
    expect(transposedMatMulIsFast('wasm') && fusedBatchNormFits('wasm', 8)).toBe(true);
    await expect(withTfjsKernels(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc).toBe(studio);
  });

  it('refuses a module that would write into TF.js memory or import anything else', () => {
    const built = new Uint8Array(readFileSync(join(ROOT, WASM_KERNELS.output)));
    expect(() => checkKernelModule(built, 'kernels.wasm')).not.toThrow();
    // A minimal module with a data section of one segment.
    const withData = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      2, 0x0f, 1, 3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 1, // import env.memory (min 1)
      11, 7, 1, 0, 0x41, 0, 0x0b, 1, 0x2a]); // data: segment 0 at i32.const 0, one byte
    expect(() => checkKernelModule(withData, 'data.wasm')).toThrow(/data\.wasm has a data section/);
    const noImports = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    expect(() => checkKernelModule(noImports, 'empty.wasm')).toThrow(/must import env\.memory only, imports nothing/);
  });
});
