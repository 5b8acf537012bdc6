// What goes wrong during training: a NaN loss, a full disk during a checkpoint, a stop or pause on
// request, an unusable dataset. Each keeps what it must keep and says what happened.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { runTraining } from '../../src/train/index.ts';
import { CheckpointStore, FILES, readEvents, readRun, runSummary } from '../../src/run/index.ts';
import { writeFileAtomic } from '../../src/util/atomic.ts';
import { steps, tinyDataset, tinyRun } from './helpers.ts';

let data: string;
beforeAll(async () => {
  await initBackend('wasm');
  data = await tinyDataset({ classes: 2, perClass: 10 }); // 16 train images: 2 steps per epoch at batch 8
});

const store = (dir: string) => new CheckpointStore(join(dir, FILES.checkpoints));

describe('training failures', () => {
  it('a NaN loss stops the run with a clear error and keeps the last good checkpoint', async () => {
    const { dir } = tinyRun(data, { epochs: 3 });
    const events: TrainEvent[] = [];
    const outcome = await runTraining(dir, {
      onEvent: (e) => events.push(e),
      checkpointEverySteps: 2,
      // Poison one weight after step 3, so that step 4's loss is NaN.
      afterStep: ({ step, model }) => {
        if (step === 3) tf.tidy(() => model!.params.get('stem.conv.weight')!.variable.assign(tf.fill(model!.params.get('stem.conv.weight')!.variable.shape, NaN)));
      },
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe('the loss became NaN at step 4 (epoch 2): training stopped; the last good checkpoint (step 2) is kept');
    expect(events.at(-1)).toMatchObject({ type: 'failed', error: outcome.error, step: 3 });
    expect(await runSummary(dir)).toMatchObject({ status: 'failed', error: outcome.error, resumable: true });
    const kept = store(dir).load('last')!;
    expect(kept.manifest.step).toBe(2);
    for (const t of kept.weights.values()) expect(t.data.every(Number.isFinite)).toBe(true);
  });

  it('a full disk during a checkpoint warns, keeps the previous checkpoint, and training goes on', async () => {
    const { dir } = tinyRun(data, { epochs: 2 });
    let full = false;
    const writeFile = (path: string, bytes: Buffer | string) => {
      if (full && path.endsWith('.state.safetensors')) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      writeFileAtomic(path, bytes);
    };
    const events: TrainEvent[] = [];
    const outcome = await runTraining(dir, {
      onEvent: (e) => events.push(e), checkpointEverySteps: 1, writeFile,
      afterStep: ({ step }) => { full = step >= 2; },
    });
    expect(outcome.status).toBe('finished');
    // The recipe's one line comes first, as in every run; the disk's warnings follow.
    const all = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message);
    expect(all[0]).toMatch(/^recipe: /);
    const warnings = all.slice(1);
    expect(warnings[0]).toBe('could not write the last checkpoint at step 2: the disk is full (ENOSPC); the checkpoint of step 1 is kept');
    // Every save from step 2 on fails: steps 2, 3, 4 and the two epoch ends (steps 2 and 4).
    expect(warnings).toHaveLength(5);
    expect(warnings.every((w) => w.includes('ENOSPC') && w.endsWith('the checkpoint of step 1 is kept'))).toBe(true);
    const last = store(dir).load('last')!;
    expect(last.manifest.step).toBe(1);
    expect(events.filter((e) => e.type === 'checkpoint' && e.kind === 'last').map((e) => (e as { step: number }).step)).toEqual([1]);
  });

  it('pause stops after the step with a checkpoint; running again resumes there and finishes', async () => {
    const { dir } = tinyRun(data, { epochs: 2 });
    const control = new AbortController();
    const first: TrainEvent[] = [];
    const paused = await runTraining(dir, {
      onEvent: (e) => first.push(e), signal: control.signal,
      afterStep: ({ step }) => { if (step === 3) control.abort('pause'); },
    });
    expect(paused.status).toBe('paused');
    expect(first.slice(-2)).toMatchObject([{ type: 'checkpoint', kind: 'last', step: 3 }, { type: 'stopped', reason: 'pause', step: 3 }]);
    expect(readRun(dir)).toMatchObject({ status: 'paused' });
    expect((await runSummary(dir)).resumable).toBe(true);

    const second: TrainEvent[] = [];
    const resumed = await runTraining(dir, { onEvent: (e) => second.push(e) });
    expect(resumed.status).toBe('finished');
    expect(second[0]).toMatchObject({ type: 'started', resumed: true, step: 3, epoch: 2 });
    expect(steps(second).map((e) => e.step)).toEqual([4]);
    // The log reads as one run: the pause's 'stopped' event is rewound away, steps 1..4 once each.
    const log = readEvents(join(dir, FILES.metrics)).events;
    expect(steps(log).map((e) => e.step)).toEqual([1, 2, 3, 4]);
    expect(log.filter((e) => e.type === 'stopped')).toHaveLength(0);
    expect(log.filter((e) => e.type === 'started').map((e) => (e as { resumed: boolean }).resumed)).toEqual([false, true]);
    await expect(runTraining(dir)).rejects.toThrow(/already finished/);
  });

  it('an unusable dataset fails before training with a message naming the folder', async () => {
    const one = await tinyDataset({ classes: 1, perClass: 4 });
    const { dir } = tinyRun(one);
    const outcome = await runTraining(dir);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/need at least two class folders, found only .*class_0/);
    expect(readRun(dir).error).toBe(outcome.error);
  });

  it('a multi-scale set below the model minimum is refused with the sizes', async () => {
    const { dir } = tinyRun(data, { multiScale: true, imageSize: 32 });
    const outcome = await runTraining(dir);
    expect(outcome.error).toMatch(/multi-scale sampler around 32 px would train at 24 px, below the model's 32 px minimum/);
  });
});
