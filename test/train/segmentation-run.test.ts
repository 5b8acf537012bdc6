// Segmentation plugged into the training loop through its task (src/train/tasks/segmentation.ts): a short run on a
// generated images-and-masks folder trains DeepLabv3-MobileViT-XXS, checkpoints, reports mIoU in its events and
// run record, resumes exactly after a stop, and `eval --run --json` reports what the last epoch did; on a generated
// PASCAL VOC folder, with the multi-scale sampler, it learns: mIoU far above predicting background everywhere.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { main } from '../../src/cli/main.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES, readEvents, readRun } from '../../src/run/index.ts';
import { runTraining, type TrainingOutcome } from '../../src/train/index.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { buildMaskSet } from '../../src/data/segmentation-loader.ts';
import { scanSegmentation } from '../../src/data/segmentation-scan.ts';
import { PixelConfusion } from '../../src/train/segmentation-metrics.ts';
import { epochs, expectExactResume, steps, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

const SETTINGS = { task: 'segmentation', imageSize: 64, epochs: 3, batchSize: 4, lr: 0.004, seed: 3 } as const;

describe('a short segmentation run', () => {
  let data: string;
  let dir: string;
  let outcome: TrainingOutcome;
  const events: TrainEvent[] = [];

  beforeAll(async () => {
    data = join(mkdtempSync(join(tmpdir(), 'seg-data-')), 'shapes');
    await makeSegmentationDataset(data, { layout: 'images-masks', count: 10, classes: 3, size: 48, labels: true, border: true });
    ({ dir } = tinyRun(data, SETTINGS));
    outcome = await runTraining(dir, { onEvent: (e) => events.push(e), checkpointEverySteps: 2 });
  }, 300_000);

  it('trains DeepLabv3 on the masks and reports mIoU, pixel and class accuracy per epoch', () => {
    expect(outcome.error).toBeNull();
    expect(outcome.status).toBe('finished');
    expect(events[0]).toMatchObject({ type: 'started', backend: 'wasm' });
    expect(events.some((e) => e.type === 'warning' && /segmentation dataset \(images\/ \+ masks\/\): \d+ training and \d+ validation images, 3 classes \(names from labels\.txt\)/.test(e.message))).toBe(true);
    for (const s of steps(events)) expect(s.acc).toBeGreaterThanOrEqual(0);
    const last = epochs(events).at(-1)!;
    expect(last.val).toMatchObject({ top5: null, miou: expect.any(Number), pixelAccuracy: last.val!.top1, meanClassAccuracy: expect.any(Number) });
    expect(last.val!.perClassIou).toHaveLength(3);
    // The loss falls from the first steps to the last (the generated shapes are easy; a few steps only).
    const s = steps(events);
    expect(s.at(-1)!.loss).toBeLessThan(s[0].loss);
  });

  it('records the task, the labels, an mIoU-ranked best, and DeepLabv3 weights', () => {
    const run = readRun(dir);
    expect(run.settings.task).toBe('segmentation');
    expect(run.classes).toEqual(['background', 'shape1', 'shape2']);
    expect(run.dataset).toMatchObject({ task: 'segmentation', trainCount: expect.any(Number), valCount: expect.any(Number) });
    expect(run.best).toMatchObject({ miou: expect.any(Number) });
    expect(readFileSync(join(dir, FILES.labels), 'utf8').trim().split('\n')).toEqual(run.classes);
    const best = new CheckpointStore(join(dir, FILES.checkpoints)).weightsPath('best')!;
    const { tensors, metadata } = readSafetensors(best);
    expect(metadata.variant).toBe('deeplabv3_mobilevit_xxs');
    expect([...tensors.keys()].some((k) => k.startsWith('segmentation_head.'))).toBe(true);
    expect(existsSync(join(dir, FILES.evaluations, 'epoch-003.json'))).toBe(true);
  });

  it('eval --run --json reports the last epoch\'s mIoU, pixel accuracy and per-class IoU', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['eval', '--run', dir, '--checkpoint', 'last', '--json', '--backend', 'wasm'], { out: (s) => out.push(s), err: (s) => err.push(s) });
    expect(code).toBe(0);
    expect(err[0]).toMatch(/^backend: wasm/); // evaluated on the backend the flag starts, in this process
    const r = JSON.parse(out.join(''));
    const last = epochs(readEvents(join(dir, FILES.metrics)).events).at(-1)!;
    expect(r.task).toBe('segmentation');
    expect(r.miou).toBeCloseTo(last.val!.miou!, 6);
    expect(r.pixelAccuracy).toBeCloseTo(last.val!.pixelAccuracy!, 6);
    expect(r.perClassIou).toHaveLength(3);
    expect(r.loss).toBeCloseTo(last.val!.loss, 4);
    // The pixel confusion, and the images it segments worst (lowest mIoU first), each with its mask.
    expect(r.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(r.pixels);
    expect(r.worstImages).toHaveLength(Math.min(12, r.count));
    expect(r.worstImages.map((w: { miou: number }) => w.miou)).toEqual(r.worstImages.map((w: { miou: number }) => w.miou).sort((a: number, b: number) => a - b));
    for (const w of r.worstImages) expect([existsSync(w.file), existsSync(w.mask)]).toEqual([true, true]);
    const text: string[] = [];
    expect(await main(['eval', '--run', dir, '--checkpoint', 'last', '--backend', 'wasm'], { out: (s) => text.push(s), err: () => {} })).toBe(0);
    expect(text.join('\n')).toContain(`the ${r.worstImages.length} validation images with the lowest mIoU of their own:`);
    expect(text.join('\n')).toContain(r.worstImages[0].file);
  }, 120_000);

  it('resumes after a stop to exactly the run that was never stopped', () => expectExactResume(dir, data, SETTINGS), 300_000);
});

describe('segmentation on a generated VOC folder', () => {
  it('learns with the multi-scale sampler: the best mIoU is far above the all-background baseline', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'seg-voc-')), 'VOC');
    await makeSegmentationDataset(data, { layout: 'voc', count: 16, classes: 3, size: 64 });
    // 20 epochs: at 10 whether it learned depended on the seed (seeds 1–5 ended at 0.21–0.60 against a floor of 0.32,
    // three of them under the bar, before and after issue 23's kernels); at 20 seeds 1–5 all reach 0.62–0.75.
    const { dir } = tinyRun(data, { task: 'segmentation', imageSize: 64, multiScale: true, epochs: 20, batchSize: 4, lr: 0.004, warmupEpochs: 1, seed: 1 });
    const outcome = await runTraining(dir, {});
    expect(outcome.status).toBe('finished');
    expect(readRun(dir).classes).toHaveLength(21); // the VOC names
    // Predicting background everywhere on the same validation images, at the same size.
    const scan = await scanSegmentation(data);
    const set = await buildMaskSet(scan.val, 64);
    const baseline = new PixelConfusion(21);
    for (const labels of set.labels) baseline.add(new Uint8Array(labels.length), labels);
    const floor = baseline.scores().miou;
    expect(readRun(dir).best!.miou!).toBeGreaterThan(floor + 0.15);
  }, 300_000);
});
