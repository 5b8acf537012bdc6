// Segmentation and detection runs on wasm-workers (2 worker threads, data parallel: src/device/parallel.ts), through
// the training loop: each worker's kernel builds the run's network (DeepLabv3 or SSDLite on MobileViT-XXS) and steps
// it with its task's objective, the pixel labels or the packed anchor targets travelling with the pixels. A run of 2
// steps at 64 px gives the weights the same run gives in this process, within float summation order (the in-process
// run told the same worker count, so it cuts its batches into the same passes), and a run stopped after its first
// step resumes on the workers to exactly the run that was never stopped.
//
// Batches of 4 on 2 workers: passes of 2, one per worker (the memory bound held at 6 images, as in
// train-on-workers.test.ts, so that memory never splits a batch).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { ParallelDevice } from '../../src/device/parallel.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { stateDict } from '../../src/model/weights.ts';
import { readRun, updateRun } from '../../src/run/index.ts';
import { DENSE_DATASETS, lastWeights, maxDifference, runOn } from '../helpers/dense-runs.ts';
import { epochs, steps, tinyRun } from '../train/helpers.ts';

vi.mock('../../src/model/memory.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/model/memory.ts')>();
  return { ...real, imagesPerPass: (backend: string) => (backend === 'wasm' ? 6 : Infinity) };
});


describe.each(Object.keys(DENSE_DATASETS) as Array<keyof typeof DENSE_DATASETS>)('a %s run on wasm-workers (2 worker threads)', (task) => {
  let data: string;
  let workers: ParallelDevice;
  // 8 training images in batches of 4: 2 steps; 2 validation images, evaluated once. EMA on: the averaged weights
  // are evaluated (fetched from the workers) and travel in the checkpoints with the optimizer state.
  const settings = { task, imageSize: 64, batchSize: 4, epochs: 1, lr: 0.004, seed: 7, valFraction: 0.2, multiScale: false, ema: true, variant: 'mobilevit_xxs' } as const;
  let whole: { dir: string; events: TrainEvent[] };

  beforeAll(async () => {
    await initBackend('wasm');
    data = join(mkdtempSync(join(tmpdir(), `${task}-workers-`)), 'data');
    await DENSE_DATASETS[task](data);
    workers = await ParallelDevice.open(2);
  }, 120_000);
  afterAll(async () => { await workers?.close(); });

  it('trains and evaluates on the workers; the same run in this process gives the same weights within float summation order', async () => {
    const { dir } = tinyRun(data, settings);
    const onWorkers = await runOn(dir, workers);
    expect(onWorkers.outcome.status, onWorkers.outcome.error ?? '').toBe('finished');
    expect(onWorkers.events[0]).toMatchObject({ type: 'started', step: 0, backend: 'wasm-workers' });
    expect(readRun(dir)).toMatchObject({ status: 'finished', backend: 'wasm-workers', passWorkers: 2 });
    whole = { dir, events: onWorkers.events };
    const ws = steps(onWorkers.events);
    expect(ws.map((s) => s.step)).toEqual([1, 2]);
    for (const s of ws) {
      expect(Number.isFinite(s.loss), `step ${s.step}`).toBe(true);
      // What the step counts out of is the task's (labelled pixels, matched anchors), summed over the workers' shares.
      expect(s.acc).toBeGreaterThanOrEqual(0);
      expect(s.acc).toBeLessThanOrEqual(1);
    }

    // In this process, told the run's worker count: the same passes of 2.
    const { dir: here } = tinyRun(data, settings);
    updateRun(here, { passWorkers: 2 });
    const inProcess = await runOn(here);
    expect(inProcess.outcome.status, inProcess.outcome.error ?? '').toBe('finished');
    expect(inProcess.events[0]).toMatchObject({ type: 'started', backend: 'wasm' });
    const hs = steps(inProcess.events);
    hs.forEach((s, i) => {
      expect(Math.abs(s.loss - ws[i].loss), `step ${s.step} loss`).toBeLessThan(1e-4);
      expect(s.acc, `step ${s.step} accuracy`).toBeCloseTo(ws[i].acc!, 4);
    });
    const difference = maxDifference(lastWeights(dir), lastWeights(here));
    console.log(`${task}: largest weight difference, workers vs this process after 2 steps: ${difference.toExponential(2)}`);
    expect(difference).toBeLessThan(1e-5); // measured: 4.8e-7 (segmentation), 9.5e-7 (detection)
    const [a, b] = [epochs(onWorkers.events)[0].val!, epochs(inProcess.events)[0].val!];
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-4);
  }, 600_000);

  it('stopped after its first step, it resumes on the workers to exactly the run that was never stopped (after the first test)', async () => {
    const { dir } = tinyRun(data, settings);
    const stopped = await runOn(dir, workers, 1);
    expect(stopped.outcome.status, stopped.outcome.error ?? '').toBe('stopped');
    const resumed = await runOn(dir, workers);
    expect(resumed.outcome.status, resumed.outcome.error ?? '').toBe('finished');
    expect(resumed.events[0]).toMatchObject({ type: 'started', resumed: true, step: 1, backend: 'wasm-workers' });
    expect([...steps(stopped.events), ...steps(resumed.events)].map((s) => s.loss)).toEqual(steps(whole.events).map((s) => s.loss));
    expect(epochs(resumed.events).map((e) => e.val)).toEqual(epochs(whole.events).map((e) => e.val));
    expect(maxDifference(lastWeights(dir), lastWeights(whole.dir))).toBe(0);
  }, 600_000);

  it.runIf(task === 'detection')('a quick run (headOnly: the backbone frozen) trains on the workers in one pass a batch, as in this process', async () => {
    const quick = { ...settings, headOnly: true };
    const { dir } = tinyRun(data, quick);
    const onWorkers = await runOn(dir, workers);
    expect(onWorkers.outcome.status, onWorkers.outcome.error ?? '').toBe('finished');
    const { dir: here } = tinyRun(data, quick);
    updateRun(here, { passWorkers: 2 });
    const inProcess = await runOn(here);
    expect(inProcess.outcome.status, inProcess.outcome.error ?? '').toBe('finished');
    // One pass of 4 both ways (BatchNorm of the heads sees the whole batch); 2 passes on the workers would differ.
    steps(inProcess.events).forEach((s, i) => expect(Math.abs(s.loss - steps(onWorkers.events)[i].loss), `step ${s.step}`).toBeLessThan(1e-5));
    const [a, b] = [lastWeights(dir), lastWeights(here)];
    expect(maxDifference(a, b)).toBeLessThan(1e-5);
    // On the workers the backbone stays the seeded start, BatchNorm statistics included; the extra layers and heads train.
    const seeded = new DetectionModel('ssdlite_mobilevit_xxs', 3, settings.seed);
    const start = stateDict(seeded);
    seeded.dispose();
    let changed = 0;
    for (const [key, t] of start) {
      const same = maxDifference(new Map([[key, t]]), new Map([[key, a.get(key)!]])) === 0;
      if (!/^(extra_layers|ssd_heads)\./.test(key)) expect(same, key).toBe(true);
      else if (!same) changed++;
    }
    expect(changed).toBeGreaterThan(0);
  }, 600_000);
});
