import { describe, expect, it } from 'vitest';
import { learningRate, progressAt, validateSchedule } from '../../src/train/schedule.ts';

const S = { lr: 1e-3, minLr: 1e-5, warmupEpochs: 2, warmupStartLr: 1e-6, epochs: 10 };

describe('learning-rate schedule', () => {
  it('warms up linearly from warmupStartLr to lr', () => {
    expect(learningRate(S, 0)).toBeCloseTo(1e-6, 12);
    expect(learningRate(S, 1)).toBeCloseTo(1e-6 + (1e-3 - 1e-6) / 2, 12);
    expect(learningRate(S, 1.999)).toBeLessThan(1e-3);
  });

  it('peaks at the end of warm-up, then follows a cosine down to minLr', () => {
    expect(learningRate(S, 2)).toBeCloseTo(1e-3, 12);
    expect(learningRate(S, 6)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5), 12); // half-way: cos = 0
    expect(learningRate(S, 10)).toBeCloseTo(1e-5, 12);
    let prev = Infinity;
    for (let p = 2; p <= 10; p += 0.25) { const lr = learningRate(S, p); expect(lr).toBeLessThanOrEqual(prev); prev = lr; }
  });

  it('is evaluated per step in fractional epochs', () => {
    expect(progressAt(3, 5, 20)).toBe(3.25);
    expect(learningRate(S, progressAt(0, 10, 20))).toBeCloseTo(learningRate(S, 0.5), 15);
  });

  it('works without warm-up and with warm-up as long as the run', () => {
    expect(learningRate({ ...S, warmupEpochs: 0 }, 0)).toBeCloseTo(1e-3, 12);
    expect(learningRate({ ...S, warmupEpochs: 20 }, 5)).toBeCloseTo(1e-6 + (1e-3 - 1e-6) / 2, 12);
  });

  it('rejects impossible settings, naming the field', () => {
    expect(() => validateSchedule({ ...S, minLr: 1 })).toThrow(/minLr/);
    expect(() => validateSchedule({ ...S, lr: 0 })).toThrow(/lr/);
    expect(() => validateSchedule({ ...S, epochs: 0 })).toThrow(/epochs/);
  });
});
