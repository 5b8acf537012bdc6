// Detection plugged into the training loop through its task (src/train/tasks/detection.ts): a short run on a
// generated YOLO folder trains SSDLite-MobileViT-XXS, checkpoints, reports COCO's mAP, AP50, AP75 and per-class AP
// in its events and run record, ranks its best epoch by mAP, resumes exactly after a stop, starts a run from its
// checkpoint (--weights) and a quick run (headOnly) from it, and `eval --run --json` reports what the last epoch
// did; the same on a generated COCO JSON folder; and a run of a few dozen steps learns to find the shapes (AP50
// well above zero).
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { main } from '../../src/cli/main.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES, readEvents, readRun } from '../../src/run/index.ts';
import { runTraining, type TrainingOutcome } from '../../src/train/index.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { epochs, expectExactResume, steps, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

const SETTINGS = { task: 'detection', imageSize: 64, epochs: 2, batchSize: 4, lr: 0.004, seed: 3 } as const;

async function dataset(layout: 'yolo' | 'coco', count: number): Promise<string> {
  const root = join(mkdtempSync(join(tmpdir(), 'det-data-')), layout);
  await makeDetectionDataset(root, { layout, count, classes: 2, size: 64 });
  return root;
}

describe('a short detection run on a YOLO folder', () => {
  let data: string;
  let dir: string;
  let outcome: TrainingOutcome;
  const events: TrainEvent[] = [];

  beforeAll(async () => {
    data = await dataset('yolo', 12);
    ({ dir } = tinyRun(data, SETTINGS));
    outcome = await runTraining(dir, { onEvent: (e) => events.push(e), checkpointEverySteps: 2 });
  }, 300_000);

  it('trains SSDLite on the boxes and reports mAP, AP50, AP75 and per-class AP per epoch', () => {
    expect(outcome.error).toBeNull();
    expect(outcome.status).toBe('finished');
    expect(events[0]).toMatchObject({ type: 'started', backend: 'wasm' });
    expect(events.some((e) => e.type === 'warning' && /detection dataset \(YOLO\): 9 training and 3 validation images, 2 classes \(training boxes: red \d+, green \d+\)/.test(e.message))).toBe(true);
    const s = steps(events);
    for (const step of s) expect(step.acc).toBeGreaterThanOrEqual(0);
    const last = epochs(events).at(-1)!;
    expect(last.val).toMatchObject({ top5: null, map: expect.any(Number), ap50: expect.any(Number), ap75: expect.any(Number) });
    expect(last.val!.perClassAp).toHaveLength(2);
    expect(last.val!.ap50!).toBeGreaterThanOrEqual(last.val!.map!);
    const finished = events.find((e) => e.type === 'finished') as Extract<TrainEvent, { type: 'finished' }>;
    expect(finished.val).toEqual(last.val);
    // The multibox loss falls from the first steps to the last.
    expect(s.at(-1)!.loss).toBeLessThan(s[0].loss);
  });

  it('records the task, the labels, an mAP-ranked best, and SSDLite weights under ml-cvnets\' names', () => {
    const run = readRun(dir);
    expect(run.settings.task).toBe('detection');
    expect(run.classes).toEqual(['red', 'green']);
    expect(run.dataset).toMatchObject({ task: 'detection', trainCount: 9, valCount: 3 });
    expect(run.best).toMatchObject({ map: expect.any(Number) });
    const maps = epochs(events).map((e) => e.val!.map!);
    expect(run.best!.map).toBe(Math.max(...maps));
    expect(readFileSync(join(dir, FILES.labels), 'utf8').trim().split('\n')).toEqual(run.classes);
    const { tensors, metadata } = readSafetensors(new CheckpointStore(join(dir, FILES.checkpoints)).weightsPath('best')!);
    expect(metadata.variant).toBe('ssdlite_mobilevit_xxs');
    expect(metadata.num_classes).toBe('2');
    expect([...tensors.keys()].some((k) => k.startsWith('ssd_heads.5.'))).toBe(true);
    expect([...tensors.keys()].some((k) => k.startsWith('extra_layers.'))).toBe(true);
  });

  it('eval --run --json reports the last epoch\'s mAP, AP50, AP75 and per-class AP', async () => {
    const out: string[] = [];
    const code = await main(['eval', '--run', dir, '--checkpoint', 'last', '--json'], { out: (s) => out.push(s), err: () => {} });
    expect(code).toBe(0);
    const r = JSON.parse(out.join(''));
    const last = epochs(readEvents(join(dir, FILES.metrics)).events).at(-1)!;
    expect(r.task).toBe('detection');
    for (const key of ['map', 'ap50', 'ap75', 'top1'] as const) expect(r[key]).toBeCloseTo(last.val![key]!, 6);
    expect(r.perClassAp).toEqual(last.val!.perClassAp);
    expect(r.classes).toEqual(['red', 'green']);
    expect(r.loss).toBeCloseTo(last.val!.loss, 4);
  }, 120_000);

  it('starts a run from its best checkpoint with --weights: the class layers kept for the same labels', async () => {
    const best = new CheckpointStore(join(dir, FILES.checkpoints)).weightsPath('best')!;
    const { dir: tuned } = tinyRun(data, { ...SETTINGS, epochs: 1, weights: best });
    const seen: TrainEvent[] = [];
    const result = await runTraining(tuned, { onEvent: (e) => seen.push(e) });
    expect(result.error).toBeNull();
    expect(seen.some((e) => e.type === 'warning' && /detector loaded from .*, its class layers kept: they predict this dataset's 2 classes/.test(e.message))).toBe(true);
  }, 300_000);

  it('quick mode (headOnly): the backbone frozen, BatchNorm statistics included; the extra layers and heads train', async () => {
    const best = new CheckpointStore(join(dir, FILES.checkpoints)).weightsPath('best')!;
    const { dir: quick } = tinyRun(data, { ...SETTINGS, epochs: 1, weights: best, headOnly: true });
    const seen: TrainEvent[] = [];
    const result = await runTraining(quick, { onEvent: (e) => seen.push(e) });
    expect(result.error).toBeNull();
    expect(seen.some((e) => e.type === 'warning' && /quick fine-tune: the backbone frozen \(inference mode\), the extra layers and heads train/.test(e.message))).toBe(true);
    const before = readSafetensors(best).tensors;
    const after = readSafetensors(new CheckpointStore(join(quick, FILES.checkpoints)).weightsPath('last')!).tensors;
    let changed = 0;
    for (const [key, t] of before) {
      const same = Buffer.from(after.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer));
      if (!/^(extra_layers|ssd_heads)\./.test(key)) expect(same, key).toBe(true);
      else if (!same) changed++;
    }
    expect(changed).toBeGreaterThan(0);
  }, 300_000);

  it('resumes after a stop to exactly the run that was never stopped', () => expectExactResume(dir, data, SETTINGS), 300_000);
});

describe('detection on a COCO JSON folder', () => {
  it('train --variant ssdlite-xxs --multi-scale trains from the folder\'s own train and val files, the categories (ids 10, 20) as contiguous classes', async () => {
    const data = await dataset('coco', 8);
    const dir = join(mkdtempSync(join(tmpdir(), 'det-cli-')), 'run');
    const err: string[] = [];
    const code = await main(['train', '--data', data, '--variant', 'ssdlite-xxs', '--image-size', '64', '--multi-scale', '--epochs', '1', '--batch-size', '4', '--run-dir', dir, '--backend', 'wasm'],
      { out: () => {}, err: (s) => err.push(s) });
    expect(code, err.join('\n')).toBe(0);
    expect(err.join('\n')).toContain('task: detection');
    const run = readRun(dir);
    expect(run.settings).toMatchObject({ task: 'detection', variant: 'mobilevit_xxs', multiScale: true });
    expect(run.classes).toEqual(['red', 'green']);
    expect(run.dataset).toMatchObject({ task: 'detection', layout: 'split', trainCount: 6, valCount: 2 });
    const last = epochs(readEvents(join(dir, FILES.metrics)).events).at(-1)!;
    expect(last.val).toMatchObject({ map: expect.any(Number), perClassAp: [expect.anything(), expect.anything()] });
  }, 300_000);
});

describe('train refuses what detection cannot take, before a run folder exists', () => {
  it.each([
    ['a backbone without an SSDLite detector', ['--variant', 'mobilenetv2'], /variant mobilenet_v2 has no detection network \(detection backbones: mobilevit_xxs, mobilevit_xs, mobilevit_s\)/],
    ['RandAugment', ['--rand-augment'], /augmentation\.randAugment cannot be used for detection/],
  ])('%s', async (_what, extra, message) => {
    const data = await dataset('yolo', 4);
    const workspace = mkdtempSync(join(tmpdir(), 'det-refused-'));
    const err: string[] = [];
    const code = await main(['train', '--data', data, ...extra, '--epochs', '1', '--workspace', workspace, '--backend', 'wasm'], { out: () => {}, err: (e) => err.push(e) });
    expect(code).not.toBe(0);
    expect(err.join('\n')).toMatch(message);
    expect(existsSync(join(workspace, 'runs')) ? readdirSync(join(workspace, 'runs')) : []).toEqual([]);
  });
});

describe('a detection run learns', () => {
  // The learning check: 24 generated images of one or two rectangles, 25 epochs of 3 steps at 64 px.
  // A run this small learns late and unevenly: its AP50 rises after 10–15 epochs and can fall back, so the last
  // epoch's figure depended on the seed's draws (at 15 epochs seeds 1–4 ended at 0.80, 0.55, 0.28, 0.41 at
  // f377ade and 0.04, 0.48, 0.54, 0.32 after issue 23's kernels). What the run keeps is its best epoch: at 25
  // epochs seeds 1–4 reach 0.80, 0.43, 0.81, 0.73 AP50.
  it('finds the shapes: AP50 well above zero within a few dozen steps', async () => {
    const data = await dataset('yolo', 32);
    const { dir } = tinyRun(data, { task: 'detection', imageSize: 64, epochs: 25, batchSize: 8, lr: 0.01, seed: 1 });
    const outcome = await runTraining(dir, {});
    expect(outcome.error).toBeNull();
    const val = epochs(readEvents(join(dir, FILES.metrics)).events).map((e) => e.val!);
    expect(val[0].ap50!).toBeLessThan(0.1);
    expect(Math.max(...val.map((v) => v.ap50!))).toBeGreaterThan(0.4);
    expect(readRun(dir).best!.map!).toBeGreaterThan(0.1);
  }, 300_000);
});
