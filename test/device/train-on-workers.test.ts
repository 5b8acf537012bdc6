// Training on wasm-workers (src/device/parallel.ts: worker threads of this process, data parallel) through the
// training loop, as a run on a page device goes (train-on-page.test.ts): the run trains, evaluates and writes
// its checkpoints; the same settings and seed on another device of as many workers is the same run, bit for
// bit; and a run stopped on the workers resumes on wasm in this process (a checkpoint from one device continues
// on the other), as it does on the workers themselves.
//
// On 2 workers a batch of 5 is trained in passes of 3 and 2 (one per worker), and BatchNorm sees each pass
// alone. train/memory.ts's bound (which the loop asks for each step) is held at 6 images on wasm, so that memory
// never splits a batch. The run records its worker count (run.json passWorkers: 2), and a resume cuts its
// batches into those passes on any device: on wasm in this process too, passes of 3 and 2. Each epoch ends with
// a batch of 1: one pass, so the second worker has no share of that step.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { ParallelDevice } from '../../src/device/parallel.ts';
import type { TensorMap } from '../../src/model/safetensors.ts';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES, readRun } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { steps, tinyDataset, tinyRun } from '../train/helpers.ts';

const bound = vi.hoisted(() => ({ images: 6 }));
vi.mock('../../src/model/memory.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/model/memory.ts')>();
  return { ...real, imagesPerPass: (backend: string) => (backend === 'wasm' ? bound.images : Infinity) };
});

type Epoch = Extract<TrainEvent, { type: 'epoch' }>;
const epochs = (e: TrainEvent[]) => e.filter((x): x is Epoch => x.type === 'epoch');
const last = (dir: string) => new CheckpointStore(join(dir, FILES.checkpoints));

function sameBits(a: TensorMap, b: TensorMap): boolean {
  if ([...a.keys()].join() !== [...b.keys()].join()) return false;
  for (const [key, t] of a) {
    const u = b.get(key)!.data;
    if (u.length !== t.data.length || t.data.some((v, i) => !Object.is(v, u[i]))) return false;
  }
  return true;
}

describe('training on wasm-workers (2 worker threads)', () => {
  let data: string;
  let workers: ParallelDevice;
  let again: ParallelDevice;
  // 2 classes × 8 training images, batch 5: batches of 5, 5, 5 and 1 an epoch, 8 steps in all; 2 × 2 validation
  // images. EMA on, so the averaged weights travel in the checkpoints and are what is evaluated.
  const settings = { imageSize: 32, batchSize: 5, epochs: 2, lr: 0.004, seed: 11, valFraction: 0.2, multiScale: false, ema: true, variant: 'mobilevit_xxs' as const };
  let whole: Awaited<ReturnType<typeof train>>;

  /** A new run on `device` (this process's wasm when none), stopped with `reason` after step `stopAt`. */
  const train = async (device?: ParallelDevice, stopAt?: number, reason: 'stop' | 'pause' = 'stop') => {
    const { dir } = tinyRun(data, settings);
    return { dir, ...(await resume(dir, device, stopAt, reason)) };
  };
  const resume = async (dir: string, device?: ParallelDevice, stopAt?: number, reason: 'stop' | 'pause' = 'stop') => {
    const events: TrainEvent[] = [];
    const control = new AbortController();
    const outcome = await runTraining(dir, {
      device, signal: control.signal, onEvent: (e) => events.push(e),
      afterStep: ({ step }) => { if (step === stopAt) control.abort(reason); },
    });
    return { events, outcome };
  };

  beforeAll(async () => {
    await initBackend('wasm');
    data = await tinyDataset({ classes: 2, perClass: 10 });
    [workers, again] = await Promise.all([ParallelDevice.open(2), ParallelDevice.open(2)]);
  }, 120_000);
  afterAll(async () => { await Promise.all([workers?.close(), again?.close()]); });

  it('trains, evaluates and checkpoints; the same seed on another 2-worker device is the same run, bit for bit', async () => {
    whole = await train(workers);
    expect(whole.outcome.status, whole.outcome.error ?? '').toBe('finished');
    expect(whole.events[0]).toMatchObject({ type: 'started', resumed: false, step: 0, backend: 'wasm-workers' });
    expect(readRun(whole.dir)).toMatchObject({ status: 'finished', backend: 'wasm-workers', epochsDone: 2 });
    const a = steps(whole.events);
    expect(a.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(a.map((s) => s.batchSize)).toEqual([5, 5, 5, 1, 5, 5, 5, 1]);
    for (const s of a) expect(Number.isFinite(s.loss), `step ${s.step}`).toBe(true);
    // Evaluated at every epoch end (the validation rows split across the workers), the best kept.
    const ep = epochs(whole.events);
    expect(ep.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of ep) {
      expect(Number.isFinite(e.val!.loss)).toBe(true);
      expect(e.val!.top1).toBeGreaterThanOrEqual(0);
    }
    const store = last(whole.dir);
    expect(store.manifest('last')!.step).toBe(8);
    expect(store.manifest('best')).not.toBeNull();
    expect(whole.events.some((e) => e.type === 'checkpoint' && e.kind === 'last')).toBe(true);

    // Another device of 2 workers, the same settings and seed: every step's loss and the last weights, bit for bit.
    const twin = await train(again);
    expect(twin.outcome.status, twin.outcome.error ?? '').toBe('finished');
    expect(steps(twin.events).map((s) => s.loss)).toEqual(a.map((s) => s.loss));
    expect(epochs(twin.events).map((e) => e.val)).toEqual(ep.map((e) => e.val));
    expect(sameBits(last(twin.dir).load('last')!.weights, store.load('last')!.weights)).toBe(true);
  }, 300_000);

  it('a run stopped on wasm-workers resumes on wasm in this process and finishes; on the workers it resumes exactly (after the first test)', async () => {
    const stopped = await train(workers, 6);
    expect(stopped.outcome.status, stopped.outcome.error ?? '').toBe('stopped');
    expect(last(stopped.dir).manifest('last')!.step).toBe(6);
    // The steps it took are the uninterrupted run's.
    expect(steps(stopped.events).map((s) => s.loss)).toEqual(steps(whole.events).slice(0, 6).map((s) => s.loss));
    const copy = join(mkdtempSync(join(tmpdir(), 'train-ws-')), 'copy');
    cpSync(stopped.dir, copy, { recursive: true });

    // On wasm in this process (no device given: the loop's own), in the passes of 3 and 2 the run recorded.
    expect(readRun(stopped.dir).passWorkers).toBe(2);
    const onWasm = await resume(stopped.dir);
    expect(onWasm.outcome.status, onWasm.outcome.error ?? '').toBe('finished');
    expect(onWasm.events[0]).toMatchObject({ type: 'started', resumed: true, step: 6, backend: 'wasm' });
    expect(readRun(stopped.dir)).toMatchObject({ status: 'finished', backend: 'wasm' });
    const after = steps(onWasm.events);
    expect(after.map((s) => s.step)).toEqual([7, 8]);
    // Step 7's loss comes from the weights the workers left after step 6, in the same passes of 3 and 2: the
    // uninterrupted run's step 7 up to float summation order. Step 8's also depends on the optimizer state the
    // workers wrote (AdamW's moments, the EMA).
    const [w7, w8] = steps(whole.events).slice(6);
    expect(Math.abs(after[0].loss - w7.loss)).toBeLessThan(1e-5);
    expect(Math.abs(after[1].loss - w8.loss)).toBeLessThan(1e-5);
    expect(Math.abs(epochs(onWasm.events)[0].val!.loss - epochs(whole.events)[1].val!.loss)).toBeLessThan(1e-5);
    expect(last(stopped.dir).manifest('last')!.step).toBe(8);

    // The same checkpoint resumed on the workers: the uninterrupted run's last steps and weights, bit for bit.
    const onWorkers = await resume(copy, again);
    expect(onWorkers.outcome.status, onWorkers.outcome.error ?? '').toBe('finished');
    expect(steps(onWorkers.events).map((s) => s.loss)).toEqual([w7.loss, w8.loss]);
    expect(sameBits(last(copy).load('last')!.weights, last(whole.dir).load('last')!.weights)).toBe(true);
  }, 300_000);
});
