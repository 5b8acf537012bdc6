// The studio's convolution gradient kernels on wasm, against the cpu backend, on the shape classes their loops
// split into. The filter gradient (src/backend/kernels/conv-filter-grad.c): row groups (a tap sums about 128
// output pixels per tile pass, so wide maps leave several groups per image and a short last one), input channels
// past the 4s (1, 2 and 3 left, the stem's 3), output channels past the 8s (4 left, and fewer than 4), strides 1
// and 2, PyTorch's symmetric and TF's asymmetric 'same' padding, 'valid', padding wider than the filter's reach.
// The input gradient at stride 1 (kernels/conv-input-grad.c): rows in 4s of pixels and the 1-3 left, input
// channels in 8s and a 4 left, the same paddings, a 1×1 with padding; and the cases left to the composed one
// (strides, channels not in 4s). test/backend/simd-kernels.test.ts keeps its own cases (the model's layers).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { Rng } from '../../src/util/random.ts';

beforeAll(async () => { await initBackend('wasm'); }, 120_000);

function values(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

interface Case { x: [number, number, number, number]; k: number; co: number; stride: number; pad: 'valid' | 'same' | number | Array<[number, number]> }

const FILTER_CASES: Case[] = [
  { x: [1, 10, 40, 8], k: 3, co: 12, stride: 1, pad: 1 }, // groups of 3 rows (40 px) then 1; 12 = 8 + 4 outputs
  { x: [2, 11, 45, 5], k: 3, co: 20, stride: 2, pad: 1 }, // 23 px rows: groups of 5 and 1; 5 = 4 + 1 inputs; 20 = 16 + 4
  { x: [2, 16, 16, 3], k: 3, co: 16, stride: 2, pad: 1 }, // the stem: 3 inputs, even map at stride 2
  { x: [1, 9, 9, 6], k: 3, co: 11, stride: 1, pad: 'same' }, // 6 = 4 + 2 inputs; 11 = 8 + 3 outputs
  { x: [1, 8, 9, 7], k: 3, co: 8, stride: 2, pad: 'same' }, // TF's asymmetric 'same'; 7 = 4 + 3
  { x: [2, 7, 6, 4], k: 3, co: 2, stride: 1, pad: 'valid' }, // no 8 of outputs at all
  { x: [1, 6, 7, 9], k: 5, co: 9, stride: 1, pad: 3 }, // padding past the filter's reach: some taps read no row
  { x: [1, 3, 3, 4], k: 3, co: 8, stride: 2, pad: 1 }, // a map smaller than the filter
  { x: [1, 4, 5, 8], k: 1, co: 8, stride: 1, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] }, // a 1×1 padded after only: not one product
];

const INPUT_CASES: Case[] = [
  { x: [2, 7, 9, 12], k: 3, co: 10, stride: 1, pad: 1 }, // 9 = 4 + 4 + 1 pixels a row; 12 = 8 + 4 channels
  { x: [1, 5, 6, 8], k: 3, co: 5, stride: 1, pad: 'same' }, // 6 = 4 + 2; 5 output channels (the reduction)
  { x: [1, 6, 7, 4], k: 2, co: 6, stride: 1, pad: 'same' }, // an even filter: TF's asymmetric 'same'; 7 = 4 + 3
  { x: [2, 8, 8, 16], k: 5, co: 8, stride: 1, pad: 'valid' },
  { x: [1, 5, 5, 8], k: 3, co: 4, stride: 1, pad: 3 }, // padding past the filter's reach: dy's border rows unread
  { x: [1, 4, 5, 8], k: 1, co: 6, stride: 1, pad: 1 }, // a padded 1×1 (not a plain product)
  { x: [1, 4, 5, 8], k: 1, co: 6, stride: 1, pad: [[0, 0], [0, 1], [0, 1], [0, 0]] }, // padded after only: dy is larger than x
  { x: [2, 6, 6, 6], k: 3, co: 8, stride: 1, pad: 1 }, // channels not in 4s: composed
  { x: [1, 9, 8, 8], k: 3, co: 8, stride: 2, pad: 1 }, // stride 2: composed
];

/** dL/dW or dL/dx of sum(conv(x, w) · r) on `backend`, with the output gradient r fixed by the case. */
async function gradient(backend: string, c: Case, of: 'filter' | 'input'): Promise<number[]> {
  await tf.setBackend(backend);
  const ci = c.x[3];
  const x = tf.tensor4d(values(c.x, 1), c.x);
  const w = tf.tensor4d(values([c.k, c.k, ci, c.co], 2), [c.k, c.k, ci, c.co]);
  const pad = c.pad as 'valid'; // explicit pads are tf.conv2d's ExplicitPadding
  const y = tf.conv2d(x, w, c.stride, pad);
  const r = tf.tensor(values(y.shape, 3), y.shape);
  const g = of === 'filter' ? tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.stride, pad), r)))(w)
    : tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, w, c.stride, pad), r)))(x);
  const out = Array.from(await g.data());
  tf.dispose([x, w, y, r, g]);
  return out;
}

async function expectSame(of: 'filter' | 'input', cases: Case[]): Promise<void> {
  for (const c of cases) {
    const want = await gradient('cpu', c, of);
    const before = tf.memory().numTensors;
    const got = await gradient('wasm', c, of);
    expect(tf.memory().numTensors, JSON.stringify(c)).toBe(before);
    expect(got.length).toBe(want.length);
    const scale = Math.max(...want.map(Math.abs));
    got.forEach((v, i) => expect(Math.abs(v - want[i]) / scale, `${JSON.stringify(c)} [${i}]`).toBeLessThan(1e-5));
  }
}

describe("the studio's convolution gradients on wasm", () => {
  it("the filter gradient equals the cpu backend's on every loop class (row groups, channel tails, strides, paddings)", async () => {
    await expectSame('filter', FILTER_CASES);
  });

  it("the input gradient equals the cpu backend's (pixel and channel tails, paddings, even filters, the composed cases)", async () => {
    await expectSame('input', INPUT_CASES);
  });
});
