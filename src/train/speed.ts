// What this machine does: the median time of a forward pass (inference) or of a whole optimizer step
// (training: train-mode forward, backward, AdamW, on the recipe's settings) after warm-up, on random
// pixels and labels. The `bench` command and `npm run bench` both measure through this, on a compute device:
// this process's backend, or a Chromium page (webgpu, webgl, wasm-threads). Each run is one device call
// ('logits' or 'step'), timed from here, so it includes sending the batch and reading the answer back: what a
// training run or an evaluation on that device sees.
import { LocalDevice, type ComputeDevice } from '../device/device.ts';
import { describeDeviceInfo } from '../device/describe.ts';
import { createModel } from '../model/index.ts';
import { stateDict } from '../model/weights.ts';
import type { VariantName } from '../model/registry/index.ts';
import type { TrainerSettings } from '../optim/trainer.ts';
import { ADAMW } from './defaults.ts';
import { imagesPerPass } from '../model/memory.ts';
import { passImages } from '../device/parallel.ts';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/random.ts';
import { median } from '../util/median.ts';

export type SpeedMode = 'inference' | 'training';

export interface SpeedOptions {
  variant: VariantName;
  mode: SpeedMode;
  imageSize: number;
  batchSize: number;
  runs: number;
  warmup?: number;
  /** Classes of the classifier (the default is ImageNet's). */
  numClasses?: number;
  /** Checked before each run: an aborted measurement stops there, rejecting with the signal's reason. */
  signal?: AbortSignal;
}

export interface SpeedResult {
  variant: VariantName;
  mode: SpeedMode;
  imageSize: number;
  batchSize: number;
  backend: string;
  /** Model replicas working on it, each a share of the batch (wasm-workers: its worker threads; else 1). */
  workers: number;
  medianMs: number;
  imagesPerSec: number;
  runs: number;
  /** The device in a user's words ("webgpu in headless Chromium 150… (swiftshader / google, a software adapter…)"). */
  device: string;
  /** Its GPU adapter or CPU threads; null in this process. */
  adapter: string | null;
  /** A software GPU adapter (SwiftShader): correct, but its times are not a GPU's. */
  software: boolean;
  /** Every timed run, ms. */
  times: number[];
}

/** The recipe's optimizer settings, without EMA (a benchmark step is the update alone). */
const SETTINGS: TrainerSettings = { adamw: { ...ADAMW, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: 10, emaDecay: null };

/** One run of the measurement: its time in ms. `close` releases what was opened on the device (the device stays open). */
export interface SpeedRun { once(): Promise<number>; close(): Promise<void> }

/**
 * Opens the measurement's model (and optimizer, for training) on `dev`, with its batch: each `once()` is one timed
 * device call. measureSpeed runs it; a benchmark can interleave it with another runtime (bench/speed.ts).
 */
export async function openSpeedRun(o: SpeedOptions, dev: ComputeDevice): Promise<SpeedRun> {
  const numClasses = o.numClasses ?? 1000;
  const model = createModel(o.variant, { numClasses, seed: 1 });
  const weights = stateDict(model);
  model.dispose();
  const rng = new Rng(7);
  const shape: [number, number, number, number] = [o.batchSize, o.imageSize, o.imageSize, 3];
  const x = Float32Array.from({ length: o.batchSize * o.imageSize * o.imageSize * 3 }, () => rng.next());
  const labels = Int32Array.from({ length: o.batchSize }, () => rng.int(0, numClasses - 1));
  const training = o.mode === 'training';
  // Where the device's memory makes a batch train in slices (wasm's 4 GB heap, in Node or in a page).
  // Passes as a run on this device cuts them (its workers' share each, within memory).
  const perPass = passImages(o.batchSize, dev.info.workers ?? 1, imagesPerPass(dev.info.tfBackend, o.variant, o.imageSize));
  await dev.call({ op: 'open', model: { variant: o.variant, numClasses }, weights, train: training ? { settings: SETTINGS } : undefined });
  let step = 0;
  return {
    async once() {
      o.signal?.throwIfAborted();
      const t0 = performance.now();
      if (training) {
        await dev.call({ op: 'step', x, size: o.imageSize, labels, lr: 1e-3, seed: 1, step: step++, frozen: false, imagesPerPass: Number.isFinite(perPass) ? perPass : null });
      } else {
        await dev.call({ op: 'logits', x, shape, weights: 'live' });
      }
      return performance.now() - t0;
    },
    async close() {
      await dev.call({ op: 'close' }).catch(() => undefined);
    },
  };
}

/** `device`: where to measure (default: this process's backend, released afterwards). */
export async function measureSpeed(o: SpeedOptions, onRun?: (done: number, total: number) => void, device?: ComputeDevice): Promise<SpeedResult> {
  const dev = device ?? new LocalDevice(tf.getBackend());
  const warmup = o.warmup ?? (o.mode === 'training' ? 1 : 3);
  const run = await openSpeedRun(o, dev);
  try {
    for (let i = 0; i < warmup; i++) await run.once();
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      times.push(await run.once());
      onRun?.(i + 1, o.runs);
    }
    const medianMs = median(times);
    return {
      variant: o.variant, mode: o.mode, imageSize: o.imageSize, batchSize: o.batchSize, backend: dev.info.name, workers: dev.info.workers ?? 1,
      medianMs: +medianMs.toFixed(2), imagesPerSec: +((o.batchSize * 1000) / medianMs).toFixed(2), runs: o.runs,
      device: describeDeviceInfo(dev.info), adapter: dev.info.adapter, software: dev.info.software, times,
    };
  } finally {
    // The caller's device stays open (it may measure more); only what was opened on it is released.
    await run.close();
  }
}
