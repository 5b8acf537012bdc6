// The studio's 1×1 Conv2D on wasm (src/backend/simd-pointwise-conv.ts, a product on batch-matmul.c): equal to
// the cpu backend's on channel counts that leave every tail of the GEMM's 4×8 tile (3, 4, 13, 16, 96, 320),
// batch 1 and 8, odd map sizes and fewer pixels than the tile's rows; the cases it leaves to TF.js (wider
// filters, strides, dilations, padding) give exactly what TF.js's own kernel gives.
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

/** Conv2D on the current backend, as an array. */
async function conv(c: Case): Promise<Float32Array> {
  const x = tf.tensor4d(values(c.x, 1), c.x);
  const w = tf.tensor4d(values([c.k, c.k, c.x[3], c.co], 2), [c.k, c.k, c.x[3], c.co]);
  const y = tf.conv2d(x, w, c.stride ?? 1, c.pad ?? 0, 'NHWC', c.dilation ?? 1);
  const out = await y.data() as Float32Array;
  tf.dispose([x, w, y]);
  return out;
}

async function onCpu(c: Case): Promise<Float32Array> {
  await tf.setBackend('cpu');
  try {
    return await conv(c);
  } finally {
    await tf.setBackend('wasm');
  }
}

function expectClose(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  got.forEach((v, i) => expect(Math.abs(v - want[i]) / scale, `${what} [${i}]`).toBeLessThan(1e-5));
}

describe("the studio's 1×1 Conv2D on wasm", () => {
  it('is in use on wasm', () => {
    expect(report.kernels?.names).toContain('Conv2D');
  });

  it("equals the cpu backend's on every channel tail, batch 1 and 8, odd maps", async () => {
    for (const c of TAKEN) expectClose(await conv(c), await onCpu(c), JSON.stringify(c));
  });

  it("leaves wider filters, strides, dilations and padding to TF.js's kernel", async () => {
    for (const c of LEFT_TO_TFJS) {
      const [studio, tfjs] = [await conv(c), await withTfjsKernels(() => conv(c))];
      expect(Array.from(studio), JSON.stringify(c)).toEqual(Array.from(tfjs));
      expectClose(studio, await onCpu(c), JSON.stringify(c));
    }
  });

  it('leaves no tensor behind and trains through tf.grad', async () => {
    const x = tf.tensor4d(values([2, 3, 5, 13], 3), [2, 3, 5, 13]), w = tf.tensor4d(values([1, 1, 13, 8], 4), [1, 1, 13, 8]);
    const before = tf.memory().numTensors;
    tf.conv2d(x, w, 1, 0).dispose();
    expect(tf.memory().numTensors).toBe(before);
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
