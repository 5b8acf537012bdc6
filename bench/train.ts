// Training throughput (issue 3, item 11):
//   1. model training images/s (forward + backward + AdamW, synthetic batches, no data loading) for
//      every variant at 256 and 128 px and XXS at 64 px, on each training backend this machine has;
//   2. one epoch of a generated dataset through the real loop (decode cache, augmentation,
//      prefetch, training) with the multi-scale sampler against fixed 256 px, and the share of step
//      time spent waiting for data;
//   3. the data pipeline alone (images/s it can produce), fixed 256 and multi-scale.
// For scale, PyTorch with OpenBLAS trains XXS on this machine class at about 11–15 images/s at
// 256 px (batch 16) and 78–93 images/s at 128 px (batch 32).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.ts';
import { table } from '../src/cli/common.ts';
import { benchPipeline } from '../src/data/bench.ts';
import { scanDataset } from '../src/data/scan.ts';
import { VARIANT_NAMES, type VariantName } from '../src/model/index.ts';
import type { TrainEvent } from '../src/protocol/contract.ts';
import { runTraining } from '../src/train/index.ts';
import { createRun } from '../src/run/index.ts';
import { imagesPerPass } from '../src/model/memory.ts';
import { makeDataset } from '../test/helpers/dataset.ts';
import { runChild } from './child.ts';
import { machine, writeResult } from './machine.ts';
import type { WorkerJob, WorkerResult } from './train-worker.ts';

export interface ThroughputRow {
  backend: string; variant: string; size: number; batch: number;
  /** Forward/backward passes per step (more than 1 where wasm's memory makes the batch train in slices). */
  passes: number; imagesPerSec: number | null; msPerStep: number | null; error?: string;
}
export interface EpochRow { backend: string; sampler: 'fixed 256' | 'multi-scale 256'; images: number; steps: number; epochSeconds: number; imagesPerSec: number; dataWaitShare: number; sizes: number[] }
export interface PipelineRow { sampler: 'fixed 256' | 'multi-scale 256'; imagesPerSec: number; cacheImagesPerSec: number }

export interface BenchTrainOptions {
  backends?: string[];
  variants?: VariantName[];
  /** Timed steps per configuration, after one untimed warm-up step. */
  steps?: number;
  /** Images per class of the generated epoch dataset (4 classes). */
  perClass?: number;
}

/** [size, batch] at which PyTorch's reference figures were measured, plus XXS at 64 px. */
const SHAPES: [number, number][] = [[256, 16], [128, 32]];

/**
 * On wasm a batch larger than one pass' worth only repeats passes (gradient accumulation), so its
 * images/s equals that of one pass: measuring one pass keeps the benchmark to minutes there.
 */
function batchFor(backend: string, variant: VariantName, size: number, batch: number): number {
  return backend === 'wasm' ? Math.min(batch, imagesPerPass('wasm', variant, size)) : batch;
}

const worker = (job: WorkerJob) => runChild<WorkerResult>('bench/train-worker.ts', job);

/**
 * Batch at 256 px of the epoch comparison: small, so that the few dozen images a CPU backend gets
 * through in a minute still make several batches and the multi-scale sampler mixes its sizes
 * (at 4, from 10 images per batch at 160 px to 2 at 320 px).
 */
const EPOCH_BATCH = 4;

async function epochTime(backend: string, data: string, multiScale: boolean): Promise<EpochRow> {
  const ws = mkdtempSync(join(tmpdir(), 'bench-train-'));
  try {
    const { dir } = createRun({ data, imageSize: 256, batchSize: EPOCH_BATCH, epochs: 1, multiScale, seed: 1 }, { workspace: ws });
    const events: TrainEvent[] = [];
    const outcome = await runTraining(dir, { onEvent: (e) => events.push(e), checkpointEverySteps: 1_000_000 });
    if (outcome.status !== 'finished') throw new Error(`benchmark epoch ${outcome.status}: ${outcome.error}`);
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    const stepMs = steps.reduce((s, e) => s + (e.batchSize / e.imagesPerSec) * 1000, 0);
    const waitMs = steps.reduce((s, e) => s + e.dataWaitMs, 0);
    const images = steps.reduce((s, e) => s + e.batchSize, 0);
    const epoch = events.find((e) => e.type === 'epoch') as Extract<TrainEvent, { type: 'epoch' }>;
    return {
      backend, sampler: multiScale ? 'multi-scale 256' : 'fixed 256', images, steps: steps.length,
      epochSeconds: +epoch.seconds!.toFixed(1), imagesPerSec: +(images / epoch.seconds!).toFixed(2),
      dataWaitShare: +(waitMs / stepMs).toFixed(4), sizes: [...new Set(steps.map((e) => e.resolution))].sort((a, b) => a - b),
    };
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

export async function benchTrain(opts: BenchTrainOptions = {}) {
  const steps = opts.steps ?? 1;
  const throughput: ThroughputRow[] = [];
  const epochs: EpochRow[] = [];
  const skipped: { backend: string; reason: string }[] = [];

  const root = join(mkdtempSync(join(tmpdir(), 'bench-train-data-')), 'data');
  await makeDataset(root, { classes: 4, perClass: opts.perClass ?? 10, size: 320, format: 'jpeg' });

  // The plain JS 'cpu' backend trains ~20× slower than wasm: it is left out unless asked for.
  for (const backend of opts.backends ?? ['tensorflow', 'wasm']) {
    try {
      await initBackend(backend);
    } catch (e) {
      skipped.push({ backend, reason: (e as Error).message });
      console.log(`skip ${backend}: ${(e as Error).message}`);
      continue;
    }
    const configs: [VariantName, number, number][] = [];
    for (const variant of opts.variants ?? VARIANT_NAMES) for (const [size, batch] of SHAPES) configs.push([variant, size, batch]);
    configs.push(['mobilevit_xxs', 64, 64]);
    for (const [variant, size, wanted] of configs) {
      const batch = batchFor(backend, variant, size, wanted);
      const r = await worker({ backend, variant, size, batch, steps });
      const row: ThroughputRow = 'error' in r
        ? { backend, variant, size, batch, passes: 0, imagesPerSec: null, msPerStep: null, error: r.error }
        : { backend, variant, size, batch, ...r };
      throughput.push(row);
      console.log(`${backend} ${variant} ${size} px batch ${batch}: ${row.imagesPerSec ?? row.error} images/s`);
    }
    for (const multiScale of [false, true]) {
      const row = await epochTime(backend, root, multiScale);
      epochs.push(row);
      console.log(`${backend} epoch ${row.sampler}: ${row.epochSeconds} s, data wait ${(row.dataWaitShare * 100).toFixed(1)} %`);
    }
  }

  const scan = await scanDataset(root, { seed: 1 });
  const pipeline: PipelineRow[] = [];
  for (const multiScale of [false, true]) {
    const r = await benchPipeline(scan.train, { sampler: { baseSize: 256, batchSize: 16, multiScale, seed: 1 }, batches: 20 });
    pipeline.push({ sampler: multiScale ? 'multi-scale 256' : 'fixed 256', imagesPerSec: +r.imagesPerSecond.toFixed(1), cacheImagesPerSec: +r.cacheImagesPerSecond.toFixed(1) });
  }
  rmSync(join(root, '..'), { recursive: true, force: true });

  console.log('\nTraining throughput: forward + backward + AdamW on synthetic batches, mean of the timed steps after a warm-up step'
    + '\n(PyTorch/OpenBLAS on this machine class: XXS 11–15 images/s at 256 px batch 16, 78–93 at 128 px batch 32)');
  console.log(table(['backend', 'variant', 'size', 'batch', 'passes/step', 'images/s', 'ms/step'],
    throughput.map((r) => [r.backend, r.variant, `${r.size} px`, r.batch, r.passes, r.imagesPerSec ?? `failed: ${r.error}`, r.msPerStep ?? '–'])));
  console.log(`\nOne epoch of ${epochs[0]?.images ?? '?'} training images through the real loop (cache, augmentation, prefetch), XXS, batch ${EPOCH_BATCH} at 256 px`);
  console.log(table(['backend', 'sampler', 'sizes', 'steps', 'epoch s', 'images/s', 'data wait'],
    epochs.map((r) => [r.backend, r.sampler, r.sizes.join('/'), r.steps, r.epochSeconds, r.imagesPerSec, `${(r.dataWaitShare * 100).toFixed(1)} %`])));
  console.log('\nData pipeline alone (no model)');
  console.log(table(['sampler', 'images/s', 'cache decode images/s'], pipeline.map((r) => [r.sampler, r.imagesPerSec, r.cacheImagesPerSec])));

  const result = { machine: machine(), steps, throughput, epochs, pipeline, skipped };
  writeResult('bench/results/train.json', result);
  return result;
}
