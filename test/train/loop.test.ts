// A short real run on wasm: it learns, reports skipped files, keeps the tensor count flat, and leaves
// a complete run folder whose checkpoints evaluate to what the training loop reported.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { main } from '../../src/cli/main.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { evaluateModel, runTraining, type TrainingOutcome } from '../../src/train/index.ts';
import { CheckpointStore, FILES, readEvents, readRun, runSummary } from '../../src/run/index.ts';
import { steps, tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

// One run, trained once before the cases; every case only reads what it left, in any order.
describe('a short training run', () => {
  let dir: string;
  let outcome: TrainingOutcome;
  const events: TrainEvent[] = [];
  const tensorsAfterStep: number[] = [];

  beforeAll(async () => {
    const data = await tinyDataset({ perClass: 24, corrupt: true });
    ({ dir } = tinyRun(data, { epochs: 7, batchSize: 16, lr: 0.004 }));
    outcome = await runTraining(dir, {
      onEvent: (e) => events.push(e),
      afterStep: () => tensorsAfterStep.push(tf.memory().numTensors),
      checkpointEverySteps: 4,
    });
  }, 300_000);

  it('learns a small dataset far above chance, skipping and reporting corrupt files', () => {
    expect(outcome.error).toBeNull();
    expect(outcome.status).toBe('finished');
    expect(outcome.epochsDone).toBe(7);
    // 4 classes: chance is 25 %.
    expect(outcome.val!.top1).toBeGreaterThanOrEqual(0.75);
    expect(outcome.val!.count).toBe(16);

    const warning = events.find((e) => e.type === 'warning' && e.message.includes('could not be read'));
    expect(warning && warning.type === 'warning' && warning.message).toMatch(/4 file\(s\).*truncated\.jpg/);
    expect(readRun(dir).dataset!.skipped.map((f) => f.path.split('/').pop()).sort()).toEqual(['empty.png', 'not-really.jpg', 'truncated.jpg', 'truncated.png']);
  });

  it('keeps the tensor count flat across steps and epochs', () => {
    expect(tensorsAfterStep.length).toBeGreaterThan(20);
    expect(new Set(tensorsAfterStep).size).toBe(1);
  });

  it('streams the events in order and stores exactly them in metrics.jsonl', () => {
    expect(events[0]).toMatchObject({ type: 'started', resumed: false, step: 0, totalEpochs: 7, backend: 'wasm' });
    expect(events.at(-1)).toMatchObject({ type: 'finished', epoch: 7 });
    const s = steps(events);
    expect(s.map((e) => e.step)).toEqual(s.map((_, i) => i + 1));
    for (const e of s) {
      expect(e).toMatchObject({ resolution: 32, batchSize: expect.any(Number) });
      expect(e.imagesPerSec).toBeGreaterThan(0);
      expect(e.dataWaitMs).toBeGreaterThanOrEqual(0);
    }
    // Warm-up, then cosine decay: the lr rises over epoch 1 and ends near lr/10.
    expect(s[1].lr).toBeGreaterThan(s[0].lr);
    expect(s.at(-1)!.lr).toBeLessThan(0.004 * 0.2);
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(7);
    const stored = readEvents(join(dir, FILES.metrics));
    expect(stored.skipped).toBe(0);
    expect(stored.events.map((e) => e.type)).toEqual(events.map((e) => e.type));
  });

  it('leaves run.json, labels.txt, per-epoch evaluations and best/last checkpoints', async () => {
    const run = await runSummary(dir);
    expect(run).toMatchObject({ status: 'finished', epochsDone: 7, classes: ['class_0', 'class_1', 'class_2', 'class_3'], resumable: false });
    expect(readFileSync(join(dir, FILES.labels), 'utf8')).toBe('class_0\nclass_1\nclass_2\nclass_3\n');
    const evaluation = JSON.parse(readFileSync(join(dir, FILES.evaluations, 'epoch-007.json'), 'utf8'));
    expect(evaluation.confusion).toHaveLength(4);
    expect(evaluation.perClass.map((c: { count: number }) => c.count)).toEqual([4, 4, 4, 4]);
    const store = new CheckpointStore(join(dir, FILES.checkpoints));
    expect(store.manifest('last')!.step).toBe(steps(events).length);
    expect(existsSync(store.weightsPath('best')!)).toBe(true);
  });

  it('evaluates the last checkpoint to exactly what the final epoch reported, also through the CLI', async () => {
    const final = [...events].reverse().find((e) => e.type === 'epoch')!;
    const r = await evaluateModel({ run: dir, checkpoint: 'last' });
    expect(r.images).toBe('val');
    expect(r.top1).toBe(final.type === 'epoch' && final.val!.top1);
    expect(r.loss).toBeCloseTo(final.type === 'epoch' ? final.val!.loss : NaN, 5);
    const out: string[] = [];
    const code = await main(['eval', '--run', dir, '--checkpoint', 'last', '--json', '--backend', 'wasm'], { out: (l) => out.push(l), err: () => {} });
    expect(code).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ top1: r.top1, count: 16, classes: r.classes });
  });
});
