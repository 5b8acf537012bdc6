// A short run with RandAugment on (wasm, MobileViT-XXS at 32 px): it trains to the end on the augmented pixels
// (its first loss is not the one the same run without RandAugment starts with), keeps the tensor count flat,
// records the setting in run.json, and the run's timm recipe asks for the same policy.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { timmRecipe } from '../../src/export/timm-recipe.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { readRun } from '../../src/run/index.ts';
import { runTraining, type TrainingOutcome } from '../../src/train/index.ts';
import { steps, tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe('a short run with RandAugment', () => {
  let dir: string;
  let outcome: TrainingOutcome;
  let plainFirstLoss: number;
  const events: TrainEvent[] = [];
  const tensorsAfterStep: number[] = [];

  beforeAll(async () => {
    const data = await tinyDataset({ perClass: 8 });
    ({ dir } = tinyRun(data, { epochs: 2, augmentation: { randAugment: true } }));
    outcome = await runTraining(dir, { onEvent: (e) => events.push(e), afterStep: () => tensorsAfterStep.push(tf.memory().numTensors) });
    const plain: TrainEvent[] = [];
    await runTraining(tinyRun(data, { epochs: 1 }).dir, { onEvent: (e) => plain.push(e) });
    plainFirstLoss = steps(plain)[0].loss;
  }, 300_000);

  it('trains to the end, on other pixels than the same run without it', () => {
    expect(outcome.error).toBeNull();
    expect(outcome.status).toBe('finished');
    const s = steps(events);
    expect(s.length).toBeGreaterThanOrEqual(6);
    for (const e of s) expect(Number.isFinite(e.loss)).toBe(true);
    // Same seed, data, weights and crops: only RandAugment's ops differ between the two first batches.
    expect(s[0].loss).not.toBe(plainFirstLoss);
  });

  it('keeps the tensor count flat across steps and epochs', () => {
    expect(tensorsAfterStep.length).toBe(steps(events).length);
    expect(new Set(tensorsAfterStep).size).toBe(1);
  });

  it('records the setting, and its timm recipe asks for rand-m9-mstd0.5', () => {
    const run = readRun(dir);
    expect(run.settings.augmentation.randAugment).toBe(true);
    expect(timmRecipe(run, { runDir: dir, argsFile: 'args.yaml' }).notes).toContain('add --aa rand-m9-mstd0.5 for RandAugment');
  });
});
