// A short run with RandAugment on (wasm, MobileViT-XXS at 32 px): it trains to the end on the augmented pixels
// (its first loss is not the one the same run without RandAugment starts with), keeps the tensor count flat,
// resumes mid-epoch to exactly the same weights, records the setting in run.json, and the run's timm recipe asks
// for the same policy.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { timmRecipe } from '../../src/export/timm-recipe.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES, readRun } from '../../src/run/index.ts';
import { runTraining, type TrainingOutcome } from '../../src/train/index.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { steps, tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe('a short run with RandAugment', () => {
  const settings = { epochs: 2, augmentation: { randAugment: true } };
  let data: string;
  let dir: string;
  let outcome: TrainingOutcome;
  let plainFirstLoss: number;
  const events: TrainEvent[] = [];
  const tensorsAfterStep: number[] = [];

  beforeAll(async () => {
    data = await tinyDataset({ perClass: 8 });
    ({ dir } = tinyRun(data, settings));
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

  it('stopped mid-epoch and resumed, ends with exactly the weights of the uninterrupted run', async () => {
    const split = tinyRun(data, settings);
    const control = new AbortController();
    const first = await runTraining(split.dir, { signal: control.signal, afterStep: ({ step }) => { if (step === 3) control.abort('stop'); } });
    expect(first).toMatchObject({ status: 'stopped', step: 3 });
    expect((await runTraining(split.dir)).status).toBe('finished');
    const a = new CheckpointStore(join(dir, FILES.checkpoints)).load('last')!.weights;
    const b = new CheckpointStore(join(split.dir, FILES.checkpoints)).load('last')!.weights;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, t] of a) expect(maxAbsDiff(t.data, b.get(k)!.data), k).toBe(0);
  }, 300_000);

  it('records the setting, and its timm recipe asks for rand-m9-mstd0.5', () => {
    const run = readRun(dir);
    expect(run.settings.augmentation.randAugment).toBe(true);
    expect(timmRecipe(run, { runDir: dir, argsFile: 'args.yaml' }).notes).toContain('add --aa rand-m9-mstd0.5 for RandAugment');
  });
});
