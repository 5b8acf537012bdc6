import { describe, expect, it } from 'vitest';
import { TrainSettings, type TrainSettingsInput } from '../../src/protocol/contract.ts';
import { REFERENCE_RECIPE, datasetStats, resolveRecipe, type DatasetStats } from '../../src/protocol/recipe.ts';

const settings = (over: Partial<TrainSettingsInput> = {}) => TrainSettings.parse({ data: '/d', ...over });
// 28-px images, 10 classes of 80 training images, trained at 32 px.
const small: DatasetStats = { shortSide: 28, trainImages: 800, classes: 10 };
// Photos (medians 375×500) of 10 classes, trained at 128 px.
const photos: DatasetStats = { shortSide: 375, trainImages: 800, classes: 10 };

describe('resolveRecipe', () => {
  it('the schema leaves the data-dependent recipe values to auto', () => {
    const s = settings();
    expect([s.augmentation.cropScale, s.evalCrop, s.warmupEpochs, s.minLrRatio]).toEqual(['auto', 'auto', 'auto', 'auto']);
  });

  it("the schema takes 'auto' or a valid value, nothing else", () => {
    for (const bad of [{ evalCrop: 'whole' }, { evalCrop: 0 }, { evalCrop: 1.1 }, { warmupEpochs: -1 }, { minLrRatio: 2 },
      { augmentation: { cropScale: 'none' } }, { augmentation: { cropScale: [0.5] } }]) {
      expect(TrainSettings.safeParse({ data: '/d', ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
    expect(TrainSettings.parse({ data: '/d', evalCrop: 1, augmentation: { cropScale: [1, 1] } })).toMatchObject({ evalCrop: 1, augmentation: { cropScale: [1, 1] } });
  });

  it('images framed at the training size: whole image at evaluation, no random crops for a short run', () => {
    const r = resolveRecipe(settings({ imageSize: 32, epochs: 5 }), small);
    expect(r.settings.evalCrop).toBe(1);
    expect(r.settings.augmentation.cropScale).toEqual([1, 1]);
    expect(r.settings.augmentation.hflip).toBe(true);
    expect(r.settings.minLrRatio).toBe(0.01);
    // 25 steps per epoch: 50 steps would be 2 epochs, capped at a fifth of 5 epochs.
    expect(r.settings.warmupEpochs).toBe(1);
    expect(r.explanation).toContain('28 px for training at 32 px');
    expect(r.explanation).toContain('evaluation on the whole image');
    expect(r.explanation).not.toContain('\n');
  });

  it('a quick run: no random crops whatever the images and the run length; a solved classifier is one epoch, no schedule said', () => {
    for (const stats of [small, photos, null]) {
      const steps = resolveRecipe(settings({ imageSize: 128, epochs: 30, headOnly: true, headSolver: 'steps' }), stats);
      expect(steps.settings.augmentation.cropScale).toEqual([1, 1]);
      expect(steps.settings.epochs).toBe(30);
      expect(steps.explanation).toContain('warm-up');
      const solved = resolveRecipe(settings({ imageSize: 128, epochs: 30, headOnly: true }), stats);
      expect(solved.settings.augmentation.cropScale).toEqual([1, 1]);
      expect(solved.settings.epochs).toBe(1);
      expect(solved.explanation).toContain('classifier solved to its optimum');
      expect(solved.explanation).not.toMatch(/warm-up|cosine floor|epochs of/);
      expect(resolveRecipe(solved.settings, stats).settings).toEqual(solved.settings);
    }
    // Explicit crops still win.
    expect(resolveRecipe(settings({ headOnly: true, augmentation: { cropScale: [0.5, 1] } }), photos).settings.augmentation.cropScale).toEqual([0.5, 1]);
    // Not a quick run: as before.
    expect(resolveRecipe(settings({ imageSize: 128, epochs: 30, headSolver: 'optimum' }), photos).settings.epochs).toBe(30);
  });

  it('framed images trained long get mild crops', () => {
    expect(resolveRecipe(settings({ imageSize: 32, epochs: 30 }), small).settings.augmentation.cropScale).toEqual([0.5, 1]);
  });

  it('photos larger than the training size keep random-resized crops and the centre crop', () => {
    const long = resolveRecipe(settings({ imageSize: 128, epochs: 30 }), photos).settings;
    expect(long.augmentation.cropScale).toEqual([0.08, 1]);
    expect(long.evalCrop).toBe(0.9);
    expect(long.minLrRatio).toBe(0.1);
    const short = resolveRecipe(settings({ imageSize: 128, epochs: 5 }), photos).settings;
    expect(short.augmentation.cropScale).toEqual([0.25, 1]);
    expect(short.evalCrop).toBe(0.9);
  });

  it('the boundary between framed and photo-like is 1.25× the training size', () => {
    const at = (shortSide: number) => resolveRecipe(settings({ imageSize: 64, epochs: 5 }), { ...small, shortSide }).settings.evalCrop;
    expect(at(79)).toBe(1);
    expect(at(80)).toBe(0.9);
  });

  it('warm-up aims at 50 steps, at least an epoch, at most a fifth of the run', () => {
    const w = (trainImages: number, epochs: number, batchSize = 32) =>
      resolveRecipe(settings({ imageSize: 32, epochs, batchSize }), { ...small, trainImages }).settings.warmupEpochs;
    expect(w(100_000, 30)).toBe(1); // 3125 steps per epoch
    expect(w(320, 30)).toBe(5); // 10 steps per epoch
    expect(w(32, 30)).toBe(6); // 1 step per epoch: capped at 30 / 5
    expect(w(100_000, 2)).toBe(0.4); // a 2-epoch run warms up for a fifth of it
  });

  it('explicit values win, each on its own', () => {
    const s = settings({ imageSize: 32, epochs: 5, evalCrop: 0.9, augmentation: { cropScale: [0.08, 1] } });
    const r = resolveRecipe(s, small);
    expect(r.settings.evalCrop).toBe(0.9);
    expect(r.settings.augmentation.cropScale).toEqual([0.08, 1]);
    expect(r.settings.minLrRatio).toBe(0.01); // still auto
    expect(r.explanation).not.toContain('evaluation on');
    const all = resolveRecipe(settings({ evalCrop: 1, warmupEpochs: 3, minLrRatio: 0.2, augmentation: { cropScale: [0.3, 0.9] } }), small);
    expect(all.settings).toMatchObject({ evalCrop: 1, warmupEpochs: 3, minLrRatio: 0.2, augmentation: { cropScale: [0.3, 0.9] } });
    expect(all.explanation).toBe('recipe: every setting is explicit');
  });

  it('without statistics it is the reference recipe (the studio defaults before recipes)', () => {
    const r = resolveRecipe(settings({ imageSize: 32, epochs: 5 }), null).settings;
    expect(r).toMatchObject({ evalCrop: REFERENCE_RECIPE.evalCrop, warmupEpochs: 1, minLrRatio: 0.1, augmentation: { cropScale: [0.08, 1] } });
  });

  it('the resolved settings are valid settings, and resolving them again changes nothing', () => {
    const r = resolveRecipe(settings({ imageSize: 32, epochs: 5 }), small);
    const parsed = TrainSettings.parse(r.settings);
    expect(parsed).toEqual(r.settings);
    expect(resolveRecipe(parsed, photos).settings).toEqual(r.settings);
  });
});

describe('datasetStats', () => {
  const size = (w: number, h: number) => ({ width: { min: w, max: w, median: w }, height: { min: h, max: h, median: h } });
  it('reads the median shorter side and counts from a scan summary or a scan', () => {
    expect(datasetStats({ imageSize: size(500, 375), classes: ['a', 'b'], trainCount: 90 })).toEqual({ shortSide: 375, trainImages: 90, classes: 2 });
    expect(datasetStats({ imageSize: size(28, 28), classes: ['a'], train: [1, 2, 3] })).toEqual({ shortSide: 28, trainImages: 3, classes: 1 });
  });
  it('is null when no image could be read', () => {
    expect(datasetStats({ imageSize: null, classes: ['a'], trainCount: 0 })).toBeNull();
  });
});
