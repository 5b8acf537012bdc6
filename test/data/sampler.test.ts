import { describe, expect, it } from 'vitest';
import { batchSizeAt, maxTrainSize, planEpoch, samplerSizes, totalBatches, type SamplerConfig } from '../../src/data/sampler.ts';
import { sizeDivisor } from '../../src/protocol/multi-scale.ts';

const multi = (baseSize: number, batchSize = 16, seed = 7): SamplerConfig => ({ baseSize, batchSize, multiScale: true, seed });

function expectPermutation(plan: { indices: number[] }[], n: number): void {
  const all = plan.flatMap((b) => b.indices);
  expect(all).toHaveLength(n);
  expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe('multi-scale resolutions', () => {
  it('are the paper set for base 256 and scale with the base', () => {
    expect(samplerSizes(multi(256))).toEqual([160, 192, 256, 288, 320]);
    expect(samplerSizes(multi(512))).toEqual([320, 384, 512, 576, 640]);
    expect(samplerSizes(multi(128))).toEqual([80, 96, 128, 144, 160]);
    expect(samplerSizes(multi(64))).toEqual([40, 48, 64, 72, 80]);
  });

  it('round to the documented divisor and always include the base', () => {
    expect([sizeDivisor(256), sizeDivisor(224), sizeDivisor(128), sizeDivisor(96)]).toEqual([32, 16, 16, 8]);
    const sizes = samplerSizes(multi(224));
    expect(sizes).toContain(224);
    for (const s of sizes) if (s !== 224) expect(s % 16).toBe(0);
  });

  it('is just the base size in fixed mode, and honours an explicit set', () => {
    expect(samplerSizes({ baseSize: 96, batchSize: 8, multiScale: false, seed: 0 })).toEqual([96]);
    expect(samplerSizes({ ...multi(64), sizes: [96, 32, 64, 64] })).toEqual([32, 64, 96]);
    expect(maxTrainSize(multi(256))).toBe(320);
  });

  it('scales the batch by (base/size)^2, rounding down, at least 1', () => {
    const c = multi(256, 16);
    expect(samplerSizes(c).map((s) => batchSizeAt(c, s))).toEqual([40, 28, 16, 12, 10]);
    expect(batchSizeAt({ ...c, batchSize: 1 }, 320)).toBe(1);
  });

  it('rejects bad configs with the field named', () => {
    expect(() => samplerSizes({ baseSize: 0, batchSize: 4, multiScale: true, seed: 0 })).toThrow(/baseSize/);
    expect(() => samplerSizes({ baseSize: 64, batchSize: 2.5, multiScale: false, seed: 0 })).toThrow(/batchSize/);
    expect(() => planEpoch(multi(64), -1, 10)).toThrow(/epoch/);
  });
});

describe('planEpoch', () => {
  it('visits every image exactly once per epoch with one resolution per batch and the stated batch sizes', () => {
    const c = multi(256, 16);
    const n = 1000;
    for (const epoch of [0, 1, 5]) {
      const plan = planEpoch(c, epoch, n);
      expectPermutation(plan, n);
      plan.forEach((b, i) => {
        expect(samplerSizes(c)).toContain(b.size);
        if (i < plan.length - 1) expect(b.indices.length).toBe(batchSizeAt(c, b.size));
        else expect(b.indices.length).toBeLessThanOrEqual(batchSizeAt(c, b.size));
      });
    }
  });

  it('uses every resolution over an epoch', () => {
    const plan = planEpoch(multi(128, 16), 0, 2000);
    expect(new Set(plan.map((b) => b.size))).toEqual(new Set(samplerSizes(multi(128))));
  });

  it('is reproducible from the seed, and differs between epochs and seeds', () => {
    const c = multi(64, 8, 3);
    expect(planEpoch(c, 2, 300)).toEqual(planEpoch(c, 2, 300));
    const order = (seed: number, epoch: number): number[] => planEpoch({ ...c, seed }, epoch, 300).flatMap((b) => b.indices);
    expect(order(3, 2)).not.toEqual(order(3, 3));
    expect(order(3, 2)).not.toEqual(order(4, 2));
    expect(planEpoch(c, 2, 300).map((b) => b.size)).not.toEqual(planEpoch(c, 3, 300).map((b) => b.size));
  });

  it('shuffles in fixed-size mode with equal batches and a smaller last one', () => {
    const c: SamplerConfig = { baseSize: 64, batchSize: 32, multiScale: false, seed: 1 };
    const plan = planEpoch(c, 0, 100);
    expect(plan.map((b) => b.indices.length)).toEqual([32, 32, 32, 4]);
    expect(plan.every((b) => b.size === 64)).toBe(true);
    expectPermutation(plan, 100);
    expect(plan[0].indices).not.toEqual(Array.from({ length: 32 }, (_, i) => i));
  });

  it('lets a resumed run continue at the same batch from (epoch, batchIndex) alone', () => {
    const c = multi(256, 16, 11);
    const full = planEpoch(c, 4, 500);
    const state = JSON.parse(JSON.stringify({ epoch: 4, batchIndex: 7 })) as { epoch: number; batchIndex: number };
    expect(planEpoch(c, state.epoch, 500).slice(state.batchIndex)).toEqual(full.slice(7));
  });

  it('counts total batches for a schedule', () => {
    const c = multi(64, 8);
    expect(totalBatches(c, 3, 200)).toBe([0, 1, 2].reduce((s, e) => s + planEpoch(c, e, 200).length, 0));
    expect(planEpoch(c, 0, 0)).toEqual([]);
  });
});
