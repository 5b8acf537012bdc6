// A run whose device goes away (here its Chromium is killed mid-run) fails with a message that names the device
// and the checkpoint it can resume from, stays resumable, and resumes on another device to the end.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { findChromium, openChromiumDevice } from '../../src/device/chromium.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { runSummary } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { browsersOf } from '../helpers/procs.ts';
import { steps, tinyDataset, tinyRun } from '../train/helpers.ts';

const chromium = (() => { try { return findChromium(); } catch { return null; } })();

describe.skipIf(!chromium || !existsSync(chromium) || process.platform !== 'linux')('a run on a page device that is lost', () => {
  let data: string;
  beforeAll(async () => {
    await initBackend('wasm');
    data = await tinyDataset({ classes: 2, perClass: 8 });
  });

  it('fails naming the device and its last checkpoint, and resumes in this process to the end', async () => {
    const device = await openChromiumDevice('wasm-threads');
    const { dir } = tinyRun(data, { imageSize: 32, batchSize: 4, epochs: 2, seed: 3, valFraction: 0.25 });
    const events: TrainEvent[] = [];
    try {
      const outcome = await runTraining(dir, {
        device, checkpointEverySteps: 2, onEvent: (e) => events.push(e),
        // After step 3 (checkpoint at step 2; the epoch's end comes next: evaluation, checkpoint), the browser dies.
        afterStep: ({ step }) => { if (step === 3) for (const b of browsersOf(process.pid)) process.kill(b.pid, 'SIGKILL'); },
      });
      expect(outcome.status).toBe('failed');
      expect(outcome.error).toMatch(/^the wasm-threads device \(headless Chromium [^)]+\) was lost during [a-z-]+: .*; resuming continues from the last checkpoint \(step 2\)$/);
      expect(events.at(-1)).toMatchObject({ type: 'failed', error: outcome.error, step: 3 });
      expect(await runSummary(dir)).toMatchObject({ status: 'failed', resumable: true });
    } finally {
      await device.close();
    }
    const resumed: TrainEvent[] = [];
    const again = await runTraining(dir, { onEvent: (e) => resumed.push(e) });
    expect(again.status, again.error ?? '').toBe('finished');
    expect(resumed[0]).toMatchObject({ type: 'started', resumed: true, step: 2 });
    expect(steps(resumed).map((s) => s.step)).toEqual([3, 4, 5, 6]);
  }, 300_000);
});
