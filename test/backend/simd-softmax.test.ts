// The studio's last-axis softmax (src/backend/kernels/softmax.c) on wasm against the cpu backend's composed one
// (tf.softmax and TF.js's multiply and sum for the gradient): values and gradients on attention's row lengths
// (16, 64 and 256 tokens), rows with tails (13, 30) or no SIMD body (1, 3), logits ±80 apart, equal logits,
// many rows; no tensor left behind, and bad inputs refused by name.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { softmaxLastAxis } from '../../src/model/custom-grads.ts';
import { fusedSoftmaxRuns, SOFTMAX_KERNELS } from '../../src/util/kernel-traits.ts';
import { Rng } from '../../src/util/random.ts';

beforeAll(async () => { await initBackend('wasm'); }, 120_000);
afterAll(async () => { await tf.setBackend('cpu'); });

interface Case { name: string; shape: number[]; logit(i: number, rng: Rng): number }
const spread = (s: number) => (_: number, rng: Rng) => rng.uniform(-s, s);
const CASES: Case[] = [
  { name: 'rows of 256 (XXS at 256 px)', shape: [2, 4, 5, 256], logit: spread(6) },
  { name: 'rows of 64', shape: [3, 4, 64, 64], logit: spread(4) },
  { name: 'rows of 16, many of them', shape: [64, 4, 16, 16], logit: spread(4) },
  { name: 'rows of 13 (a tail of 1)', shape: [7, 13], logit: spread(3) },
  { name: 'rows of 30 (a block of 16, three vectors and a tail of 2)', shape: [11, 30], logit: spread(5) },
  { name: 'rows of 4 (no tail)', shape: [9, 4], logit: spread(3) },
  { name: 'rows of 3 (all tail)', shape: [5, 3], logit: spread(3) },
  { name: 'rows of 1 (y = 1, no gradient)', shape: [6, 1], logit: spread(3) },
  { name: 'logits of ±80 (e^x underflows away from the maximum)', shape: [6, 19], logit: (i, rng) => (rng.next() < 0.5 ? -80 : 80) + (i % 3) },
  { name: 'equal logits in a row', shape: [4, 16], logit: (i) => Math.floor(i / 16) * 10 - 15 },
];

/** softmaxLastAxis's value and gradient under the loss Σ y·w on `backend`, as plain arrays. */
async function softmaxOn(backend: string, c: Case, logits: Float32Array, w: Float32Array) {
  await tf.setBackend(backend);
  const [x, weights] = [tf.tensor(logits, c.shape), tf.tensor(w, c.shape)];
  const f = softmaxLastAxis;
  const y = f(x);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), weights)))(x);
  const out = { y: await y.data(), dx: await dx.data() };
  tf.dispose([x, weights, y, dx]);
  return out;
}

describe("the studio's softmax kernels on wasm", () => {
  it('are what softmaxLastAxis uses on wasm, and not on cpu', () => {
    expect(fusedSoftmaxRuns('wasm')).toBe(true);
    expect(fusedSoftmaxRuns('cpu')).toBe(false);
  });

  for (const c of CASES) {
    it(`equal the cpu backend's softmax and its gradient: ${c.name}`, async () => {
      const size = c.shape.reduce((a, b) => a * b, 1);
      const rng = new Rng(size + c.shape.length);
      const logits = Float32Array.from({ length: size }, (_, i) => c.logit(i, rng));
      const w = Float32Array.from({ length: size }, () => rng.uniform(-1, 1));
      const want = await softmaxOn('cpu', c, logits, w);
      const before = tf.memory().numTensors;
      const got = await softmaxOn('wasm', c, logits, w);
      expect(tf.memory().numTensors).toBe(before);
      got.y.forEach((v, i) => expect(Math.abs(v - want.y[i]), `y [${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(want.y[i], 1e-3)));
      got.dx.forEach((v, i) => expect(Math.abs(v - want.dx[i]), `dx [${i}]`).toBeLessThanOrEqual(2e-7));
    });
  }

  it('refuses inputs of the wrong type or shape, naming them', async () => {
    await tf.setBackend('wasm');
    const [y, ints, other] = [tf.zeros([2, 3]), tf.zeros([2, 3], 'int32'), tf.zeros([3, 2])];
    const run = (name: string, inputs: tf.NamedTensorMap) => () => tf.engine().runKernel(name, inputs);
    expect(run(SOFTMAX_KERNELS.forward, { x: ints })).toThrow(/x must be float32 \[2,3\], got int32 \[2,3\]/);
    expect(run(SOFTMAX_KERNELS.grad, { y, dy: other })).toThrow(/dy must be float32 \[2,3\], got float32 \[3,2\]/);
    tf.dispose([y, ints, other]);
  });
});
