// Dropout's mask (its rate, independence and seed) and the op that applies it (value, gradient, channel masks).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyDropout, dropoutMask } from '../../src/model/dropout.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

/** Fraction of dropped elements, and of neighbouring pairs both dropped. */
function dropped(mask: Float32Array): { single: number; pair: number } {
  let single = 0;
  let pair = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) single++;
    if (i > 0 && mask[i] === 0 && mask[i - 1] === 0) pair++;
  }
  return { single: single / mask.length, pair: pair / (mask.length - 1) };
}

describe('dropoutMask', () => {
  it.each([0.05, 0.1, 0.5, 0.9])('rate %s: drops that fraction, independently, and scales the rest by 1/(1 − rate)', (rate) => {
    const n = 1_000_000;
    const mask = dropoutMask(n, rate, 42);
    const { single, pair } = dropped(mask);
    // Five standard deviations of a binomial proportion.
    expect(Math.abs(single - rate)).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / n));
    expect(Math.abs(pair - rate * rate)).toBeLessThan(5 * Math.sqrt((rate * rate * (1 - rate * rate)) / n));
    const kept = Math.fround(1 / (1 - rate));
    expect(mask.every((v) => v === 0 || v === kept)).toBe(true);
    // Neither end is left out: both halves drop at the rate.
    expect(Math.abs(dropped(mask.subarray(n / 2)).single - rate)).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / (n / 2)));
  });

  it('is the same for the same seed and another for another', () => {
    const a = dropoutMask(10_000, 0.1, 7);
    expect(dropoutMask(10_000, 0.1, 7)).toEqual(a);
    const b = dropoutMask(10_000, 0.1, 8);
    expect(a.some((v, i) => v !== b[i])).toBe(true);
  });

  it('keeps everything at rate 0 and refuses a rate outside [0, 1)', () => {
    expect(dropoutMask(100, 0, 1).every((v) => v === 1)).toBe(true);
    expect(() => dropoutMask(10, 1, 1)).toThrow(/rate/);
    expect(() => dropoutMask(10, -0.1, 1)).toThrow(/rate/);
  });
});

describe('applyDropout', () => {
  it('is x·mask and its gradient is the mask, keeping no tensor', () => {
    const x = tf.randomNormal([4, 8, 16], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const mask = dropoutMask(x.size, 0.2, 11);
    const y = applyDropout(x, 0.2, 11);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(applyDropout(t, 0.2, 11), 3)))(x);
    const xv = x.dataSync();
    expect(Array.from(y.dataSync())).toEqual(Array.from(xv, (v, i) => Math.fround(v * mask[i])));
    expect(Array.from(dx.dataSync())).toEqual(Array.from(mask, (m) => Math.fround(3 * m)));
    tf.dispose([y, dx]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('drops whole channels with a [B, 1, 1, C] mask, and passes x through at rate 0', () => {
    const [b, h, w, c] = [2, 3, 5, 64];
    const x = tf.add(tf.randomUniform([b, h, w, c], 0, 1, 'float32', 5), 1) as tf.Tensor4D;
    const y = applyDropout(x, 0.5, 9, [b, 1, 1, c]).arraySync() as number[][][][];
    const zeroChannels = new Set<string>();
    for (let i = 0; i < b; i++) for (let j = 0; j < c; j++) {
      const values = y[i].flatMap((row) => row.map((px) => px[j]));
      const zeros = values.filter((v) => v === 0).length;
      expect([0, values.length]).toContain(zeros);
      if (zeros) zeroChannels.add(`${i}.${j}`);
    }
    expect(zeroChannels.size).toBeGreaterThan(0);
    expect(zeroChannels.size).toBeLessThan(b * c);
    expect(applyDropout(x, 0, 9)).toBe(x);
    x.dispose();
  });
});
