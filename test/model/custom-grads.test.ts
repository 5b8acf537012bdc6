// The hand-written gradients equal TF.js's autodiff of the plain formulas (cpu backend, random inputs),
// and the ops leave no tensors behind, with or without a gradient tape.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNormTraining, layerNormLastAxis, silu, softmaxLastAxis, type Activation } from '../../src/model/custom-grads.ts';
import { affine, batchMatMul4d, batchMatMul4dTransposeB } from '../../src/model/matmul.ts';
import { initBackend } from '../../src/backend/index.ts';
import { fusedBatchNormFits, transposedMatMulIsFast } from '../../src/util/kernel-traits.ts';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

const EPS = 1e-5;

/** max |a − b| relative to max |b|. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  const [ad, bd] = [a.dataSync(), b.dataSync()];
  return maxAbsDiff(ad, bd) / Math.max(maxAbs(bd), 1e-12);
}

/**
 * Compares value and gradients of `custom` and `plain` w.r.t. every input under a loss Σ y·r with a
 * random r (so the output gradient differs everywhere), and checks the comparison leaked nothing.
 */
function expectSameGradients(custom: (...xs: tf.Tensor[]) => tf.Tensor, plain: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[], seed: number) {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const r = tf.randomNormal(custom(...inputs).shape, 0, 1, 'float32', seed);
    const loss = (f: typeof custom) => (...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r));
    expect(relErr(custom(...inputs), plain(...inputs))).toBeLessThan(1e-5);
    const got = tf.grads(loss(custom))(inputs);
    const want = tf.grads(loss(plain))(inputs);
    got.forEach((g, i) => {
      expect(g.shape, `gradient ${i} shape`).toEqual(inputs[i].shape);
      expect(maxAbs(want[i].dataSync()), `gradient ${i} is not trivially zero`).toBeGreaterThan(0);
      expect(relErr(g, want[i]), `gradient ${i}`).toBeLessThan(1e-4);
    });
  });
  expect(tf.memory().numTensors).toBe(before);
}

// On wasm with the studio's kernels, channels in multiples of 4 take the fused kernels (util/kernel-traits.ts).
describe.each(['cpu', 'wasm'])('batchNormTraining on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') await initBackend('wasm');
    await tf.setBackend(backend);
    expect(fusedBatchNormFits(backend, 8)).toBe(backend === 'wasm');
  });
  afterAll(async () => { await tf.setBackend('cpu'); });

  const activations: Record<Activation, (y: tf.Tensor) => tf.Tensor> = {
    none: (y) => y,
    silu: (y) => tf.mul(y, tf.sigmoid(y)),
    relu6: (y) => tf.relu6(y),
    relu: (y) => tf.relu(y),
  };
  const plain = (act: Activation) => (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return activations[act](tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), gamma), beta));
  };
  const custom = (act: Activation) => (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
    batchNormTraining(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, { eps: EPS, act });

  it.each([
    ['centred input', [3, 5, 4, 6], 0, 'none'],
    // An offset mean checks the backward centres x itself rather than cancelling large sums.
    ['mean far from zero', [2, 7, 3, 5], 20, 'none'],
    ['one value per channel per image', [4, 1, 1, 3], -2, 'none'],
    ['fused SiLU', [2, 6, 5, 4], 1, 'silu'],
    // gamma and beta spread the output over both of ReLU6's clipping points.
    ['fused ReLU6', [2, 6, 5, 4], 1, 'relu6'],
    ['8 channels, mean far from zero, SiLU', [3, 9, 7, 8], 20, 'silu'],
    ['8 channels, ReLU6', [3, 9, 7, 8], 1, 'relu6'],
    // DeepLabv3's ASPP: half of the outputs below zero.
    ['fused ReLU', [2, 6, 5, 4], 0, 'relu'],
    ['8 channels, ReLU', [3, 9, 7, 8], 1, 'relu'],
    // more rows than one accumulation block of the kernels (256)
    ['many rows', [4, 16, 12, 4], 3, 'none'],
  ])('%s: gradients w.r.t. x, gamma and beta match autodiff', (_, shape, offset, act) => {
    const s = shape as number[];
    const c = s[3];
    const x = tf.randomNormal(s, offset as number, 3, 'float32', 1);
    const gamma = tf.randomNormal([c], 2, 1, 'float32', 2);
    const beta = tf.randomNormal([c], 1, 2, 'float32', 3);
    expectSameGradients(custom(act as Activation), plain(act as Activation), [x, gamma, beta], 4);
    tf.dispose([x, gamma, beta]);
  });

  it('reports the batch mean and biased variance once per call, and keeps nothing without a tape', () => {
    const x = tf.randomNormal([2, 3, 3, 4], 1, 2, 'float32', 5);
    const gamma = tf.ones([4]) as tf.Tensor1D;
    const beta = tf.zeros([4]) as tf.Tensor1D;
    const want = tf.moments(x, [0, 1, 2]);
    const before = tf.memory().numTensors;
    const seen: Array<[Float32Array, Float32Array]> = [];
    const y = batchNormTraining(x, gamma, beta, {
      eps: EPS, act: 'silu', onStats: (m, v) => { seen.push([m.dataSync() as Float32Array, v.dataSync() as Float32Array]); },
    });
    expect(seen).toHaveLength(1);
    expect(maxAbsDiff(seen[0][0], want.mean.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(seen[0][1], want.variance.dataSync())).toBeLessThan(1e-4);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, gamma, beta, want.mean, want.variance]);
  });

  it('rejects a gamma or beta of the wrong length, naming the counts', () => {
    const x = tf.zeros([1, 2, 2, 3]);
    const g = tf.ones([4]) as tf.Tensor1D;
    const b = tf.zeros([3]) as tf.Tensor1D;
    expect(() => batchNormTraining(x, g, b, { eps: EPS })).toThrow(/3 channels, gamma has 4 and beta 3/);
    tf.dispose([x, g, b]);
  });
});

describe('silu', () => {
  it('gradient matches autodiff of x·sigmoid(x), including large |x|', () => {
    const x = tf.randomNormal([4, 6, 5], 0, 4, 'float32', 6);
    expectSameGradients((t) => silu(t), (t) => tf.mul(t, tf.sigmoid(t)), [x], 7);
    x.dispose();
  });
});

// Both formulations: explicit transposes (cpu, and wasm with TF.js's own kernels) and transposed operands
// (wasm with the studio's SIMD matmul: util/kernel-traits.ts).
describe.each(['cpu', 'wasm'])('matrix products on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') await initBackend('wasm');
    await tf.setBackend(backend);
    expect(transposedMatMulIsFast(backend)).toBe(backend === 'wasm');
  });
  afterAll(async () => { await tf.setBackend('cpu'); });

  it('affine (x·w + b over the last axis, x of rank 2 or 3): value and gradients w.r.t. x, w and b match autodiff', () => {
    const plain = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
      const [din, dout] = (w as tf.Tensor2D).shape;
      return tf.add(tf.matMul(x.reshape([-1, din]), w as tf.Tensor2D), b).reshape([...x.shape.slice(0, -1), dout]);
    };
    for (const [shape, seed] of [[[7, 5], 8], [[2, 6, 5], 12]] as const) {
      const x = tf.randomNormal([...shape], 0, 1, 'float32', seed);
      const w = tf.randomNormal([5, 3], 0, 1, 'float32', seed + 1);
      const b = tf.randomNormal([3], 0, 1, 'float32', seed + 2);
      expectSameGradients((p, q, r) => affine(p, q as tf.Tensor2D, r as tf.Tensor1D), plain, [x, w, b], seed + 3);
      tf.dispose([x, w, b]);
    }
  });

  it("softmaxLastAxis (the studio's kernels on wasm, composed on cpu): value and gradient match autodiff of tf.softmax", () => {
    for (const [shape, seed] of [[[2, 3, 5, 7], 41], [[1, 1, 256, 256], 45]] as const) {
      const x = tf.randomNormal([...shape], 0, 3, 'float32', seed);
      expectSameGradients((t) => softmaxLastAxis(t), (t) => tf.softmax(t), [x], seed + 1);
      x.dispose();
    }
  });

  it('batchMatMul4d: gradients w.r.t. both batched factors match autodiff of tf.matMul', () => {
    const a = tf.randomNormal([2, 3, 6, 4], 0, 1, 'float32', 21);
    const b = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 22);
    expectSameGradients((p, q) => batchMatMul4d(p as tf.Tensor4D, q as tf.Tensor4D), (p, q) => tf.matMul(p as tf.Tensor4D, q as tf.Tensor4D), [a, b], 23);
    tf.dispose([a, b]);
  });

  it('batchMatMul4dTransposeB (q·kᵀ): value and gradients match autodiff, also over 256 patches (per-slice products)', () => {
    for (const [n, seed] of [[6, 31], [256, 35]]) {
      const a = tf.randomNormal([1, 2, n, 4], 0, 1, 'float32', seed);
      const b = tf.randomNormal([1, 2, n, 4], 0, 1, 'float32', seed + 1);
      expectSameGradients((p, q) => batchMatMul4dTransposeB(p as tf.Tensor4D, q as tf.Tensor4D), (p, q) => tf.matMul(p as tf.Tensor4D, q as tf.Tensor4D, false, true), [a, b], seed + 2);
      tf.dispose([a, b]);
    }
  });
});

describe('layerNormLastAxis', () => {
  it('gradients w.r.t. x, gamma and beta match autodiff of the moments formula', () => {
    const plain = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), gamma), beta);
    };
    const x = tf.randomNormal([3, 5, 8], 4, 2, 'float32', 11);
    const gamma = tf.randomNormal([8], 1, 0.5, 'float32', 12);
    const beta = tf.randomNormal([8], 0, 1, 'float32', 13);
    expectSameGradients((p, g, b) => layerNormLastAxis(p, g as tf.Tensor1D, b as tf.Tensor1D, EPS), plain, [x, gamma, beta], 14);
    tf.dispose([x, gamma, beta]);
  });

  it('rejects a gamma or beta of the wrong length', () => {
    const x = tf.zeros([2, 5]);
    const g = tf.ones([5]) as tf.Tensor1D;
    const b = tf.zeros([4]) as tf.Tensor1D;
    expect(() => layerNormLastAxis(x, g, b, EPS)).toThrow(/5 features, gamma has 5 and beta 4/);
    tf.dispose([x, g, b]);
  });
});
