// The studio's fused training-mode BatchNorm (src/backend/kernels/batchnorm.c) on wasm against the cpu backend's
// composed BatchNorm: the batch statistics, the output and the gradients w.r.t. x, gamma and beta, on shapes
// whose rows span several of the kernels' row blocks (4096 / channels rows each) with a tail, the XXS's widest
// layer, a map of one pixel, and every activation.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { batchNormTraining, type Activation } from '../../src/model/custom-grads.ts';
import { fusedBatchNormFits } from '../../src/util/kernel-traits.ts';
import { Rng } from '../../src/util/random.ts';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures.ts';

const EPS = 1e-5;

beforeAll(async () => { await initBackend('wasm'); }, 120_000);
afterAll(async () => { await tf.setBackend('cpu'); });

function uniform(n: number, rng: Rng, centre: number, spread: number): Float32Array {
  return Float32Array.from({ length: n }, () => centre + spread * (rng.next() * 2 - 1));
}

/** Statistics, output and gradients (under the loss Σ y·r) of batchNormTraining on `backend`, as plain arrays. */
async function batchNormOn(backend: string, shape: number[], act: Activation, data: Record<'x' | 'gamma' | 'beta' | 'r', Float32Array>) {
  await tf.setBackend(backend);
  const c = shape[3];
  const [x, gamma, beta, r] = [tf.tensor(data.x, shape), tf.tensor1d(data.gamma), tf.tensor1d(data.beta), tf.tensor(data.r, shape)];
  const stats: Float32Array[] = [];
  const f = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTraining(xs, g as tf.Tensor1D, b as tf.Tensor1D, {
    eps: EPS, act, onStats: (m, v) => { stats.push(m.dataSync() as Float32Array, v.dataSync() as Float32Array); },
  });
  const y = f(x, gamma, beta);
  const grads = tf.grads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xs, g, b), r)))([x, gamma, beta]);
  const out = { fused: fusedBatchNormFits(backend, c), mean: stats[0], variance: stats[1], y: await y.data(), grads: await Promise.all(grads.map((g) => g.data())) };
  tf.dispose([x, gamma, beta, r, y, ...grads]);
  return out;
}

/** max |a − b| relative to max |b|. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => maxAbsDiff(a, b) / Math.max(maxAbs(b), 1e-12);

describe("the studio's fused BatchNorm on wasm", () => {
  it.each([
    // 429 rows of 48 channels: five blocks of 85 rows and a tail of 4, odd in every unrolled loop; mean far from zero
    ['[3,13,11,48] SiLU', [3, 13, 11, 48], 20, 'silu'],
    ['[3,13,11,48] ReLU6', [3, 13, 11, 48], 2, 'relu6'],
    ['[3,13,11,48] ReLU', [3, 13, 11, 48], 0, 'relu'],
    ['[3,13,11,48] none', [3, 13, 11, 48], 20, 'none'],
    // 512 rows of 32 channels: four whole blocks
    ['[2,16,16,32] SiLU', [2, 16, 16, 32], 1, 'silu'],
    // the XXS's 320-channel 1×1 convolution on a small map: one block of 12 rows and a tail of 3
    ['[1,3,5,320] SiLU', [1, 3, 5, 320], -2, 'silu'],
    // one pixel per image, three images (with two, x̂ = ±1 and dx is zero but for rounding)
    ['[3,1,1,16] SiLU', [3, 1, 1, 16], 0, 'silu'],
  ])('%s: statistics, output and gradients equal the cpu backend', async (_, shape, offset, act) => {
    const s = shape as number[];
    const n = s.reduce((a, b) => a * b, 1);
    const rng = new Rng(11);
    const data = { x: uniform(n, rng, offset as number, 5), gamma: uniform(s[3], rng, 1.5, 1), beta: uniform(s[3], rng, 1, 3), r: uniform(n, rng, 0, 1) };
    const want = await batchNormOn('cpu', s, act as Activation, data);
    const got = await batchNormOn('wasm', s, act as Activation, data);
    expect([got.fused, want.fused]).toEqual([true, false]);
    expect(relErr(got.mean, want.mean), 'mean').toBeLessThan(1e-6);
    expect(relErr(got.variance, want.variance), 'variance').toBeLessThan(1e-5);
    expect(relErr(got.y, want.y), 'y').toBeLessThan(1e-5);
    ['x', 'gamma', 'beta'].forEach((name, i) => {
      expect(maxAbs(want.grads[i]), `d${name} is not trivially zero`).toBeGreaterThan(0);
      expect(relErr(got.grads[i], want.grads[i]), `d${name}`).toBeLessThan(1e-4);
    });
  });
});
