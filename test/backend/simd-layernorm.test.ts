// The studio's fused LayerNorm (src/backend/kernels/layernorm.c) on wasm against the cpu backend's composed
// layerNormLastAxis: the output and the gradients w.r.t. x, gamma and beta, for every width the models use and odd
// ones (a scalar tail), over row counts that cross the backward's 64-row blocks with a tail, with rows of constant
// values (variance 0) and rows far from zero (1e4 + small noise); a float64 reference judges the kernel more tightly.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { layerNormLastAxis } from '../../src/model/custom-grads.ts';
import { fusedLayerNormRuns } from '../../src/util/kernel-traits.ts';
import { Rng } from '../../src/util/random.ts';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures.ts';

const EPS = 1e-5;

beforeAll(async () => { await initBackend('wasm'); }, 120_000);
afterAll(async () => { await tf.setBackend('cpu'); });

type Data = Record<'x' | 'gamma' | 'beta' | 'r', Float32Array>;

/** Output and gradients (under the loss Σ y·r) of layerNormLastAxis on `backend`, as plain arrays. */
async function layerNormOn(backend: string, shape: number[], data: Data) {
  await tf.setBackend(backend);
  const [x, gamma, beta, r] = [tf.tensor(data.x, shape), tf.tensor1d(data.gamma), tf.tensor1d(data.beta), tf.tensor(data.r, shape)];
  const f = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNormLastAxis(xs, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
  const before = tf.memory().numTensors;
  const y = f(x, gamma, beta);
  const grads = tf.grads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xs, g, b), r)))([x, gamma, beta]);
  const leaked = tf.memory().numTensors - before - 1 - grads.length;
  const out = { fused: fusedLayerNormRuns(backend), leaked, y: await y.data(), grads: await Promise.all(grads.map((g) => g.data())) };
  tf.dispose([x, gamma, beta, r, y, ...grads]);
  return out;
}

/** The same in float64: [y, dx, dgamma, dbeta]. */
function layerNorm64(dim: number, { x, gamma, beta, r }: Data): Float64Array[] {
  const rows = x.length / dim;
  const [y, dx, dgamma, dbeta] = [new Float64Array(x.length), new Float64Array(x.length), new Float64Array(dim), new Float64Array(dim)];
  for (let i = 0; i < rows; i++) {
    const row = Array.from(x.subarray(i * dim, (i + 1) * dim));
    const mean = row.reduce((a, b) => a + b, 0) / dim;
    const invstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / dim + EPS);
    const xhat = row.map((v) => (v - mean) * invstd);
    const g = xhat.map((_, c) => r[i * dim + c] * gamma[c]);
    const gMean = g.reduce((a, b) => a + b, 0) / dim;
    const gxMean = g.reduce((a, b, c) => a + b * xhat[c], 0) / dim;
    for (let c = 0; c < dim; c++) {
      y[i * dim + c] = xhat[c] * gamma[c] + beta[c];
      dx[i * dim + c] = invstd * (g[c] - gMean - xhat[c] * gxMean);
      dgamma[c] += r[i * dim + c] * xhat[c];
      dbeta[c] += r[i * dim + c];
    }
  }
  return [y, dx, dgamma, dbeta];
}

/** max |a − b| relative to max |b|. */
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => maxAbsDiff(a, b) / Math.max(maxAbs(b), 1e-12);

function uniform(n: number, rng: Rng, centre: number, spread: number): Float32Array {
  return Float32Array.from({ length: n }, () => centre + spread * (rng.next() * 2 - 1));
}

/** x with every `constantEvery`-th row (0: none) one value throughout, and γ, β, r. */
function data(shape: number[], centre: number, spread: number, constantEvery: number): Data {
  const dim = shape[shape.length - 1];
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(7 + dim);
  const x = uniform(n, rng, centre, spread);
  if (constantEvery) {
    for (let i = 0; i < n / dim; i += constantEvery) x.fill(centre + Math.round(spread * (rng.next() * 2 - 1)), i * dim, (i + 1) * dim);
  }
  return { x, gamma: uniform(dim, rng, 1, 0.5), beta: uniform(dim, rng, 0, 1), r: uniform(n, rng, 0, 1) };
}

describe("the studio's fused LayerNorm on wasm", () => {
  it.each([
    // the transformers' widths (XXS 64/80/96, S 240) on 296 rows: four 64-row blocks and a tail of 40
    ['[2,4,37,64]', [2, 4, 37, 64]],
    ['[2,4,37,80]', [2, 4, 37, 80]],
    ['[2,4,37,96]', [2, 4, 37, 96]],
    ['[2,4,37,240]', [2, 4, 37, 240]],
    // odd widths: all tail (4 is one vector, 13 three and a tail of 1)
    ['[3,50,4]', [3, 50, 4]],
    ['[3,50,13]', [3, 50, 13]],
    // an XXS layer's token count at 128 px, batch 2: 2·4·64 rows
    ['[2,4,64,64]', [2, 4, 64, 64]],
  ])('%s, every fifth row constant: output and gradients equal the cpu backend', async (_, shape) => {
    const d = data(shape as number[], 0.5, 3, 5);
    const want = await layerNormOn('cpu', shape as number[], d);
    const got = await layerNormOn('wasm', shape as number[], d);
    const ref = layerNorm64((shape as number[]).at(-1)!, d);
    expect([got.fused, want.fused, got.leaked]).toEqual([true, false, 0]);
    // The cpu backend's own rounding reaches 3e-5 (a constant row of 13 whose mean is not exactly its value).
    expect(relErr(got.y, want.y), 'y').toBeLessThan(1e-4);
    expect(relErr(got.y, ref[0]), 'y against float64').toBeLessThan(1e-5);
    ['x', 'gamma', 'beta'].forEach((name, i) => {
      expect(maxAbs(want.grads[i]), `d${name} is not trivially zero`).toBeGreaterThan(0);
      expect(relErr(got.grads[i], want.grads[i]), `d${name}`).toBeLessThan(1e-4);
      expect(relErr(got.grads[i], ref[i + 1]), `d${name} against float64`).toBeLessThan(1e-5);
    });
  });

  it.each([13, 96])('rows at 1e4 + noise of 0.1 (width %i): closer to float64 than the cpu backend', async (dim) => {
    const shape = [3, 20, dim];
    const d = data(shape, 1e4, 0.1, 7);
    const ref = layerNorm64(dim, d);
    const cpu = await layerNormOn('cpu', shape, d);
    const wasm = await layerNormOn('wasm', shape, d);
    // The composed mean of raw values near 1e4 is 6e-4 off, 1 % of the noise; the kernel centres on each row's
    // first value and keeps the noise.
    expect(relErr(cpu.y, ref[0]), 'cpu y').toBeGreaterThan(1e-3);
    [wasm.y, ...wasm.grads].forEach((got, i) => expect(relErr(got, ref[i]), `output ${i}`).toBeLessThan(1e-5));
  });
});
