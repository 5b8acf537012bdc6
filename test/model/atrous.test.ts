// The atrous convolution that training uses (per-tap products) against TF.js's dilated conv forward, and its
// gradients against a plain convolution with the zero-stuffed kernel (whose gradients TF.js has).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { atrousConvTaps } from '../../src/model/atrous.ts';
import { maxAbs, maxAbsDiff } from '../helpers/fixtures.ts';

/** The k×k kernel spread over ((k−1)·d + 1)² with zeros between its taps. */
function stuffed(filter: tf.Tensor4D, d: number): tf.Tensor4D {
  const [k, , cin, cout] = filter.shape;
  const size = (k - 1) * d + 1;
  const src = filter.arraySync();
  const out = Array.from({ length: size }, () => Array.from({ length: size }, () => Array.from({ length: cin }, () => new Array(cout).fill(0))));
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[i * d][j * d] = src[i][j];
  return tf.tensor4d(out);
}

describe.each(['cpu', 'wasm'])('atrous convolution as taps on %s', (backend) => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  /** Forward against TF.js's dilated conv, gradients against the stuffed kernel's, at stride s and padding p. */
  async function check(h: number, w: number, d: number, s: number, p: number) {
    if (backend === 'wasm') await initBackend('wasm');
    await tf.setBackend(backend);
    const x = tf.randomNormal([2, h, w, 5], 0, 1, 'float32', 11) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 5, 4], 0, 1, 'float32', 12) as tf.Tensor4D;
    const big = stuffed(f, d);
    const before = tf.memory().numTensors;
    const got = atrousConvTaps(x, f, s, p, d);
    // cpu computes the dilated reference on every backend (wasm's own dilated conv is what inference uses).
    const want = tf.conv2d(x, big, s, p);
    expect(got.shape).toEqual(want.shape);
    expect(maxAbsDiff(got.dataSync(), want.dataSync())).toBeLessThan(1e-4 * Math.max(1, maxAbs(want.dataSync())));
    const dy = tf.randomNormal(want.shape, 0, 1, 'float32', 13);
    const [gx, gf] = tf.grads((a, b) => tf.sum(tf.mul(atrousConvTaps(a as tf.Tensor4D, b as tf.Tensor4D, s, p, d), dy)))([x, f]);
    const [rx, rBig] = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), dy)))([x, big]);
    expect(maxAbsDiff(gx.dataSync(), rx.dataSync())).toBeLessThan(1e-4 * Math.max(1, maxAbs(rx.dataSync())));
    // The stuffed kernel's gradient at the tap positions is the real kernel's gradient.
    const rf = tf.stridedSlice(rBig, [0, 0, 0, 0], rBig.shape, [d, d, 1, 1]);
    expect(maxAbsDiff(gf.dataSync(), rf.dataSync())).toBeLessThan(1e-4 * Math.max(1, maxAbs(rf.dataSync())));
    tf.dispose([got, want, dy, gx, gf, rx, rBig, rf]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, f, big]);
  }

  it.each([
    // [input H, W, rate, stride]: ASPP's rates on a map smaller than the rate (only the centre tap reads pixels),
    // a rate inside the map, a non-square map; padded by the rate, as the models pad.
    [16, 16, 6, 1], [16, 16, 18, 1], [9, 13, 2, 1], [11, 10, 3, 1],
  ])('%ix%i, rate %i, stride %i: forward equals TF.js\'s dilated conv, gradients equal the stuffed kernel\'s', (h, w, d, s) => check(h, w, d, s, d));

  it.each([
    // [input H, W, rate, padding]: none (the output smaller than the input), and wider than the filter reaches
    // (border rows whose taps all read padding).
    [9, 7, 2, 0], [8, 8, 1, 3], [7, 9, 2, 5],
  ])('%ix%i, rate %i, padding %i: the same', (h, w, d, p) => check(h, w, d, 1, p));

  it('refuses a stride, naming it', () => {
    const x = tf.zeros([1, 8, 8, 2]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 2, 2]) as tf.Tensor4D;
    expect(() => atrousConvTaps(x, f, 2, 2, 2)).toThrow(/stride 1 only, got 2/);
    tf.dispose([x, f]);
  });
});
