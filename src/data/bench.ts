// Throughput of the input pipeline alone (no model): how many augmented training images per second the loader
// produces, and how fast the cache is built. The training benchmark compares it with the model's images/s to
// show whether data can keep up.
import type { AugmentConfig } from './augment.ts';
import { buildTrainSet, trainBatches } from './loader.ts';
import { maxTrainSize, type SamplerConfig } from './sampler.ts';
import type { ImageEntry } from './scan.ts';

export interface PipelineBenchResult {
  /** Training images produced in the timed part, and the time it took. */
  images: number;
  seconds: number;
  imagesPerSecond: number;
  batches: number;
  /** Decoding every image into the cache (done once per run). */
  cacheImages: number;
  cacheSeconds: number;
  cacheImagesPerSecond: number;
  cacheBytes: number;
  cacheShortSide: number;
  /** With `simulatedStepMs`: mean time spent waiting for a batch (first excluded) and its share of the step. */
  waitMsPerBatch?: number;
  waitFraction?: number;
}

export interface PipelineBenchOptions {
  sampler: SamplerConfig;
  augment?: AugmentConfig;
  /** Batches to time (default 20); epochs repeat as needed. */
  batches?: number;
  prefetch?: number;
  /** Blocks the JS thread this long after each batch, as a synchronous model step does, to measure how much
   *  of the loading overlaps with compute. Images/s then includes the simulated steps. */
  simulatedStepMs?: number;
}

export async function benchPipeline(entries: readonly ImageEntry[], opts: PipelineBenchOptions): Promise<PipelineBenchResult> {
  if (entries.length === 0) throw new Error('pipeline benchmark needs at least one image');
  const want = opts.batches ?? 20;
  const t0 = performance.now();
  const set = await buildTrainSet(entries, { maxTrainSize: maxTrainSize(opts.sampler) });
  const cacheSeconds = (performance.now() - t0) / 1000;

  let images = 0;
  let batches = 0;
  let waitMs = 0;
  const t1 = performance.now();
  let asked = t1;
  for (let epoch = 0; batches < want; epoch++) {
    for await (const batch of trainBatches(set, { sampler: opts.sampler, epoch, augment: opts.augment, prefetch: opts.prefetch })) {
      const got = performance.now();
      if (batches > 0) waitMs += got - asked; // the first batch has nothing to overlap with
      images += batch.labels.length;
      batch.release();
      if (opts.simulatedStepMs) busyWait(opts.simulatedStepMs);
      asked = performance.now();
      if (++batches >= want) break;
    }
  }
  const seconds = (performance.now() - t1) / 1000;
  const waited = batches > 1 ? waitMs / (batches - 1) : 0;
  return {
    images,
    seconds,
    imagesPerSecond: images / seconds,
    batches,
    cacheImages: entries.length,
    cacheSeconds,
    cacheImagesPerSecond: entries.length / cacheSeconds,
    cacheBytes: set.cache.bytes,
    cacheShortSide: set.cache.shortSide,
    ...(opts.simulatedStepMs ? { waitMsPerBatch: waited, waitFraction: waited / opts.simulatedStepMs } : {}),
  };
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: a model step on the wasm or cpu backend holds the JS thread just like this
  }
}
