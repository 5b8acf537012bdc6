// The studio's 1×1 Conv2D and FusedConv2D on wasm (src/backend/simd-pointwise-conv.ts, a product on
// batch-matmul.c, then bias-act.c): equal to the cpu backend's on channel counts that leave every tail of the GEMM's 4×8 tile (3, 4, 13, 16, 96, 320),
// batch 1 and 8, odd map sizes and fewer pixels than the tile's rows; the cases it leaves to TF.js (wider
// filters, strides, dilations, padding, other activations) give exactly what TF.js's own kernel gives.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { BackendReport } from '../../src/backend/report.ts';
import { withTfjsKernels } from '../../src/backend/wasm-simd-kernels.ts';
import { Rng } from '../../src/util/random.ts';

let report: BackendReport;
beforeAll(async () => { report = await initBackend('wasm'); }, 120_000);

function values(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

type Pad = 'valid' | 'same' | number;
interface Case { x: [number, number, number, number]; k: number; co: number; stride?: number; pad?: Pad; dilation?: number }

const TAKEN: Case[] = [
  { x: [1, 7, 5, 3], k: 1, co: 4 },
  { x: [8, 5, 3, 13], k: 1, co: 16 },
  { x: [1, 9, 11, 16], k: 1, co: 13, pad: 'same' },
  { x: [8, 3, 5, 96], k: 1, co: 320, pad: 'valid' },
  { x: [1, 1, 3, 320], k: 1, co: 96 }, // 3 pixels: fewer rows than the tile's 4
  { x: [8, 4, 4, 4], k: 1, co: 3 },
];
const LEFT_TO_TFJS: Case[] = [
  { x: [2, 7, 5, 13], k: 3, co: 16, pad: 1 },
  { x: [2, 7, 5, 16], k: 1, co: 13, stride: 2 },
  { x: [1, 6, 6, 8], k: 1, co: 4, dilation: 2 },
  { x: [1, 5, 5, 4], k: 1, co: 8, pad: 1 }, // a border of zeros around the product
];

/** Conv2D, then FusedConv2D with a bias and each activation it takes, and one without a bias, on the current backend. */
async function conv(c: Case): Promise<Float32Array[]> {
  const x = tf.tensor4d(values(c.x, 1), c.x);
  const w = tf.tensor4d(values([c.k, c.k, c.x[3], c.co], 2), [c.k, c.k, c.x[3], c.co]);
  const bias = tf.tensor1d(values([c.co], 3));
  const [strides, pad, dilations] = [c.stride ?? 1, c.pad ?? 0, c.dilation ?? 1];
  const ys = [tf.conv2d(x, w, strides, pad, 'NHWC', dilations),
    ...(['linear', 'relu', 'relu6'] as const).map((activation) => tf.fused.conv2d({ x, filter: w, strides, pad, dilations, bias, activation })),
    tf.fused.conv2d({ x, filter: w, strides, pad, dilations, activation: 'relu6' })];
  const out = await Promise.all(ys.map(async (y) => await y.data() as Float32Array));
  tf.dispose([x, w, bias, ...ys]);
  return out;
}

async function onCpu<T>(f: () => Promise<T>): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend('wasm');
  }
}

const WHAT = ['Conv2D', 'fused linear', 'fused relu', 'fused relu6', 'fused relu6, no bias'];
function expectClose(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  let worst = 0;
  got.forEach((v, i) => { if (!(Math.abs(v - want[i]) <= Math.abs(want[worst] - got[worst]))) worst = i; });
  expect(Math.abs(got[worst] - want[worst]) / scale, `${what} [${worst}]: ${got[worst]} against ${want[worst]}`).toBeLessThan(1e-5);
}

describe("the studio's 1×1 Conv2D and FusedConv2D on wasm", () => {
  it('is in use on wasm', () => {
    expect(report.kernels?.names).toEqual(expect.arrayContaining(['Conv2D', 'FusedConv2D']));
  });

  it("equals the cpu backend's on every channel tail, batch 1 and 8, odd maps, plain and fused", async () => {
    for (const c of TAKEN) {
      const [got, want] = [await conv(c), await onCpu(() => conv(c))];
      got.forEach((g, i) => expectClose(g, want[i], `${JSON.stringify(c)} ${WHAT[i]}`));
    }
  });

  it("leaves wider filters, strides, dilations and padding to TF.js's kernel", async () => {
    for (const c of LEFT_TO_TFJS) {
      const [studio, tfjs, cpu] = [await conv(c), await withTfjsKernels(() => conv(c)), await onCpu(() => conv(c))];
      studio.forEach((s, i) => {
        expect(Array.from(s), `${JSON.stringify(c)} ${WHAT[i]}`).toEqual(Array.from(tfjs[i]));
        expectClose(s, cpu[i], `${JSON.stringify(c)} ${WHAT[i]}`);
      });
    }
  });

  it("leaves other activations to TF.js's FusedConv2D", async () => {
    const x = tf.tensor4d(values([2, 3, 5, 8], 5), [2, 3, 5, 8]), w = tf.tensor4d(values([1, 1, 8, 12], 6), [1, 1, 8, 12]);
    const alpha = tf.tensor1d(values([12], 7));
    const fused = () => Promise.all([
      tf.fused.conv2d({ x, filter: w, strides: 1, pad: 0, activation: 'sigmoid' }),
      tf.fused.conv2d({ x, filter: w, strides: 1, pad: 0, activation: 'leakyrelu', leakyreluAlpha: 0.1 }),
      tf.fused.conv2d({ x, filter: w, strides: 1, pad: 0, activation: 'prelu', preluActivationWeights: alpha }),
    ].map(async (y) => { const v = await y.data(); y.dispose(); return Array.from(v); }));
    expect(await fused()).toEqual(await withTfjsKernels(fused));
    tf.dispose([x, w, alpha]);
  });

  it('leaves no tensor behind and trains through tf.grad', async () => {
    const x = tf.tensor4d(values([2, 3, 5, 13], 3), [2, 3, 5, 13]), w = tf.tensor4d(values([1, 1, 13, 8], 4), [1, 1, 13, 8]);
    const bias = tf.tensor1d(values([8], 5));
    const before = tf.memory().numTensors;
    tf.conv2d(x, w, 1, 0).dispose();
    tf.fused.conv2d({ x, filter: w, strides: 1, pad: 0, bias, activation: 'relu6' }).dispose();
    expect(tf.memory().numTensors).toBe(before);
    bias.dispose();
    const gw = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, v as tf.Tensor4D, 1, 0))))(w);
    await tf.setBackend('cpu');
    const [xc, wc] = [tf.tensor4d(values([2, 3, 5, 13], 3), [2, 3, 5, 13]), tf.tensor4d(values([1, 1, 13, 8], 4), [1, 1, 13, 8])];
    const want = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xc, v as tf.Tensor4D, 1, 0))))(wc);
    const wantValues = await want.data() as Float32Array;
    tf.dispose([xc, wc, want]);
    await tf.setBackend('wasm');
    expectClose(await gw.data() as Float32Array, wantValues, 'filter gradient');
    tf.dispose([x, w, gw]);
  });
});
