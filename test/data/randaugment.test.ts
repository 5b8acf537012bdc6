// RandAugment (rand-m9-mstd0.5): every op against Pillow 9.4 on a fixed image (test/fixtures/randaugment, made by
// its make.py), the op and magnitude draws against timm's rules, and in the training pipeline: after the crop and
// flip, from each image's own stream, so a resumed epoch sees the same pixels.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUGMENT, cropResizeFlip, drawAugmentation } from '../../src/data/augment.ts';
import { buildTrainSet, trainBatches, type TrainSet } from '../../src/data/loader.ts';
import { writeUnitFloats } from '../../src/data/pixels.ts';
import type { SamplerConfig } from '../../src/data/sampler.ts';
import { scanDataset } from '../../src/data/scan.ts';
import type { RgbImage } from '../../src/data/decode.ts';
import {
  RAND_AUGMENT_OPS, RAND_M9_MSTD05, applyOp, applyRandAugment, drawRandAugment, type RandAugmentOp,
} from '../../src/data/randaugment.ts';
import { Rng, mixSeed } from '../../src/util/random.ts';
import { makeDataset } from '../helpers/dataset.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'randaugment');

interface Case { op: RandAugmentOp; arg: number | null; input?: 'flat'; rgb: string }
interface Expected { pillow: string; width: number; height: number; fill: [number, number, number]; flat: string; cases: Case[] }

const expected: Expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

let source: RgbImage;
beforeAll(async () => {
  const { data, info } = await sharp(join(DIR, 'source.png')).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([expected.width, expected.height, 3]);
  source = { data: new Uint8Array(data), width: info.width, height: info.height };
});

function inputOf(c: Case): RgbImage {
  return c.input === 'flat' ? { ...source, data: bytes(expected.flat) } : source;
}

/** Largest difference and count of differing bytes. */
function compare(a: Uint8Array, b: Uint8Array): { max: number; differing: number } {
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) differing++;
    max = Math.max(max, d);
  }
  return { max, differing };
}

describe('RandAugment ops against Pillow', () => {
  it('the fixture covers every op', () => {
    expect(new Set(expected.cases.map((c) => c.op))).toEqual(new Set(RAND_AUGMENT_OPS));
  });

  for (const c of expected.cases) {
    it(`${c.op}(${c.arg ?? ''})${c.input ? ` on the ${c.input} image` : ''} matches PIL`, () => {
      const input = inputOf(c);
      const out = applyOp(input, c.op, c.arg ?? 0, expected.fill);
      // Pixel-exact for every op, the geometric ones included (their doubles and 15-decimal rotation matrix are
      // PIL's); a difference is reported with its size to tell a rounding slip from a wrong op.
      expect(compare(out, bytes(c.rgb))).toEqual({ max: 0, differing: 0 });
    });
  }
});

describe('the draws of rand-m9-mstd0.5', () => {
  const IMAGES = 40_000;
  const draws = (() => {
    const rng = new Rng(mixSeed(7, 0x5a));
    return Array.from({ length: IMAGES }, () => drawRandAugment(rng));
  })();
  const applied = draws.flat();

  it('applies each of the two drawn ops with probability 0.5: 0, 1 or 2 ops as 1/4, 1/2, 1/4', () => {
    const counts = [0, 0, 0];
    for (const d of draws) counts[d.length]++;
    expect(counts.map((c) => c / IMAGES)).toEqual([expect.closeTo(0.25, 2), expect.closeTo(0.5, 2), expect.closeTo(0.25, 2)]);
  });

  it('draws every op uniformly', () => {
    const per = new Map<RandAugmentOp, number>();
    for (const s of applied) per.set(s.op, (per.get(s.op) ?? 0) + 1);
    expect([...per.keys()].sort()).toEqual([...RAND_AUGMENT_OPS].sort());
    // ~2700 each: 5 standard deviations of a binomial share is under 0.007.
    for (const n of per.values()) expect(Math.abs(n / applied.length - 1 / 15)).toBeLessThan(0.007);
  });

  it('draws the magnitude from N(9, 0.5) clipped to [0, 10]', () => {
    const m = applied.map((s) => s.magnitude);
    expect(Math.min(...m)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...m)).toBe(10); // clipped, not dropped: P(N(9, 0.5) > 10) is 2.3 %
    const mean = m.reduce((a, b) => a + b, 0) / m.length;
    const std = Math.sqrt(m.reduce((a, b) => a + (b - mean) ** 2, 0) / m.length);
    expect(mean).toBeCloseTo(9 - 0.0042, 2); // the clip at 10 pulls the mean down by 0.5 (φ(2) − 2(1 − Φ(2)))
    expect(std).toBeGreaterThan(0.47);
    expect(std).toBeLessThan(0.5);
    expect(m.filter((v) => v === 10).length / m.length).toBeCloseTo(0.0228, 2);
  });

  it('turns the magnitude into each op\'s argument by timm\'s level rules, negating half the geometric ones', () => {
    const rule: Record<RandAugmentOp, (m: number) => number> = {
      AutoContrast: () => 0, Equalize: () => 0, Invert: () => 0,
      Rotate: (m) => (m / 10) * 30, Posterize: (m) => Math.trunc((m / 10) * 4), Solarize: (m) => Math.trunc((m / 10) * 256),
      SolarizeAdd: (m) => Math.trunc((m / 10) * 110), Color: (m) => (m / 10) * 1.8 + 0.1, Contrast: (m) => (m / 10) * 1.8 + 0.1,
      Brightness: (m) => (m / 10) * 1.8 + 0.1, Sharpness: (m) => (m / 10) * 1.8 + 0.1, ShearX: (m) => (m / 10) * 0.3,
      ShearY: (m) => (m / 10) * 0.3, TranslateXRel: (m) => (m / 10) * 0.45, TranslateYRel: (m) => (m / 10) * 0.45,
    };
    const signed = new Set<RandAugmentOp>(['Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel']);
    let negative = 0;
    let geometric = 0;
    for (const s of applied) {
      expect(Math.abs(s.arg)).toBe(rule[s.op](s.magnitude));
      if (signed.has(s.op)) {
        geometric++;
        if (s.arg < 0) negative++;
      } else {
        expect(s.arg).toBeGreaterThanOrEqual(0);
      }
    }
    expect(negative / geometric).toBeCloseTo(0.5, 1);
    // At magnitude 9 ± 0.5 Posterize keeps 3 bits; 4 when clipped at 10, 2 below 7.5 (3 standard deviations).
    const bits = applied.filter((s) => s.op === 'Posterize').map((s) => s.arg);
    expect(new Set(bits)).toEqual(new Set([2, 3, 4]));
    expect(bits.filter((b) => b === 3).length / bits.length).toBeGreaterThan(0.95);
  });

  it('is the same for the same stream and differs between streams', () => {
    const again = (seed: number) => Array.from({ length: 50 }, (_, i) => drawRandAugment(new Rng(mixSeed(seed, i))));
    expect(again(3)).toEqual(again(3));
    expect(again(3)).not.toEqual(again(4));
  });

  it('takes its policy as data: one layer, always applied, no noise', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 200; i++) {
      const steps = drawRandAugment(rng, { ...RAND_M9_MSTD05, layers: 1, prob: 1, magnitudeStd: 0 });
      expect(steps).toHaveLength(1);
      expect(steps[0].magnitude).toBe(9);
    }
  });
});

describe('applyRandAugment', () => {
  it('applies the steps in order to a copy', () => {
    const steps = [{ op: 'Rotate', magnitude: 9, arg: -27 }, { op: 'Posterize', magnitude: 9, arg: 3 }] as const;
    const out = applyRandAugment(source, steps);
    expect(out).toEqual(applyOp({ ...source, data: applyOp(source, 'Rotate', -27) }, 'Posterize', 3));
    const none = applyRandAugment(source, []);
    expect(none).toEqual(source.data);
    expect(none).not.toBe(source.data);
  });
});

describe('RandAugment in the training pipeline', () => {
  const RA = { ...DEFAULT_AUGMENT, randAugment: true };
  const sampler: SamplerConfig = { baseSize: 32, batchSize: 4, multiScale: false, seed: 21 };
  let tmp: string;
  let set: TrainSet;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mvs-randaugment-'));
    await makeDataset(tmp, { classes: 2, perClass: 8, size: 40 });
    set = await buildTrainSet((await scanDataset(tmp, { valFraction: 0 })).train, { maxTrainSize: 32 });
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  const epoch = async (augment = RA, startBatch = 0) => {
    const out: { batchIndex: number; indices: number[]; x: Float32Array }[] = [];
    for await (const b of trainBatches(set, { sampler, epoch: 1, startBatch, augment })) {
      out.push({ batchIndex: b.batchIndex, indices: [...b.indices], x: b.x.slice() });
      b.release();
    }
    return out;
  };

  it('leaves the crop, flip and jitter draws as they were, and adds its ops after them', () => {
    let drawn = 0;
    for (let i = 0; i < 200; i++) {
      const on = drawAugmentation({ ...RA, colorJitter: 0.3 }, 5, 2, i, 60, 50);
      const off = drawAugmentation({ ...DEFAULT_AUGMENT, colorJitter: 0.3 }, 5, 2, i, 60, 50);
      expect({ ...on, randAugment: [] }).toEqual(off);
      expect(off.randAugment).toEqual([]);
      drawn += on.randAugment.length;
    }
    expect(drawn / 200).toBeCloseTo(1, 0); // two draws at p 0.5
  });

  it('augments the cropped and flipped pixels of each image with that image\'s ops', async () => {
    const batches = await epoch();
    const size = sampler.baseSize;
    const pixels = size * size * 3;
    let changed = 0;
    for (const b of batches) {
      for (const [j, idx] of b.indices.entries()) {
        const img = set.cache.get(idx);
        const aug = drawAugmentation(RA, sampler.seed, 1, idx, img.width, img.height);
        const cropped = await cropResizeFlip(img, size, aug);
        const want = new Float32Array(pixels);
        writeUnitFloats(applyRandAugment({ data: cropped, width: size, height: size }, aug.randAugment), want, 0, null);
        expect(b.x.subarray(j * pixels, (j + 1) * pixels)).toEqual(want);
        if (aug.randAugment.length > 0 && compare(cropped, applyRandAugment({ data: cropped, width: size, height: size }, aug.randAugment)).differing > 0) changed++;
      }
    }
    expect(changed).toBeGreaterThan(4); // 16 images, 3 in 4 with at least one op
  });

  it('gives the same pixels again, and from a resume point the same batches as the uninterrupted epoch', async () => {
    const whole = await epoch();
    expect(await epoch()).toEqual(whole);
    expect(await epoch(RA, 2)).toEqual(whole.slice(2));
    expect((await epoch(DEFAULT_AUGMENT)).map((b) => b.x)).not.toEqual(whole.map((b) => b.x));
  });
});
