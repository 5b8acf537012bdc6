// The recipe in a real run: resolved from the scan when the run first starts, recorded in run.json with its
// explanation, told as one warning line, and taken from the record (not re-resolved) when the run resumes.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { RunSummary, type TrainEvent } from '../../src/protocol/contract.ts';
import { readRun, runSummary, updateRun } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { resolveRecipe } from '../../src/protocol/recipe.ts';
import { tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

const recipeLines = (events: TrainEvent[]) => events.filter((e) => e.type === 'warning' && e.message.startsWith('recipe:'));

describe('the recipe of a run', () => {
  it('is resolved from the scan when the run starts, recorded, and told once', async () => {
    // 24-px images trained at 32 px: framed at about the training size.
    const data = await tinyDataset({ perClass: 4, size: 24 });
    const { dir } = tinyRun(data, { epochs: 1, batchSize: 8, augmentation: { colorJitter: 0.1 } });
    const events: TrainEvent[] = [];
    const outcome = await runTraining(dir, { onEvent: (e) => events.push(e) });
    expect(outcome.error).toBeNull();
    const run = readRun(dir);
    expect(run.settings.evalCrop).toBe('auto'); // the user's settings stay as given
    expect(run.recipe!.stats).toEqual({ shortSide: 24, trainImages: run.dataset!.trainCount, classes: 4 });
    expect(run.recipe!.settings).toMatchObject({ evalCrop: 1, warmupEpochs: 0.2, minLrRatio: 0.01, augmentation: { cropScale: [1, 1], colorJitter: 0.1 } });
    const lines = recipeLines(events);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: run.recipe!.explanation });
    expect(run.recipe!.explanation).toContain('24 px for training at 32 px');
    // The runs list carries it, so the window shows what the run used.
    const summary = RunSummary.parse(await runSummary(dir));
    expect(summary.recipe).toEqual({ settings: run.recipe!.settings, explanation: run.recipe!.explanation });
  }, 120_000);

  it('a run that has recorded its recipe (a resume) keeps it, even when the data would now resolve differently', async () => {
    const data = await tinyDataset({ perClass: 4, size: 24 });
    const { dir } = tinyRun(data, { epochs: 1, batchSize: 8 });
    // As a first session would have recorded it, for other data: photo-like, centre crop, short warm-up.
    const recorded = resolveRecipe(readRun(dir).settings, { shortSide: 400, trainImages: 16, classes: 4 });
    expect(recorded.settings.evalCrop).toBe(0.9);
    updateRun(dir, { recipe: recorded });
    const events: TrainEvent[] = [];
    const outcome = await runTraining(dir, { onEvent: (e) => events.push(e) });
    expect(outcome.error).toBeNull();
    expect(readRun(dir).recipe).toEqual(recorded);
    expect(recipeLines(events)).toEqual([expect.objectContaining({ message: recorded.explanation })]);
    // The learning rate follows the recorded warm-up (0.2 epoch of 2 steps) and floor.
    const lrs = events.flatMap((e) => (e.type === 'step' ? [e.lr] : []));
    expect(lrs).toHaveLength(2);
    expect(lrs[1]).toBeCloseTo(0.002 * recorded.settings.minLrRatio + 0.5 * (0.002 - 0.002 * recorded.settings.minLrRatio) * (1 + Math.cos(Math.PI * (0.5 - 0.2) / 0.8)), 8);
  }, 120_000);
});
