// Batches of a segmentation dataset: images with their label maps, one label per pixel. The same sampler plans
// the epochs as for classification (sampler.ts: order, resolutions, resume position); each image's crop, scale
// and flip are drawn from (seed, epoch, index) (segmentation-augment.ts), so a batch does not depend on batching
// or on where a run resumed. Training images are decoded from disk for every batch (no cache): the masks must be
// cropped with the image, and a dataset of a few hundred images decodes faster than a step trains.
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { BufferPool } from './buffer-pool.ts';
import type { Batch, BuildOptions } from './loader.ts';
import { writeUnitFloats } from './pixels.ts';
import { prefetched } from './prefetch.ts';
import { planEpoch, type SamplerConfig } from './sampler.ts';
import { readMaskPair, segmentationEvalTransform, segmentationTrainSample, type SegmentationAugmentConfig } from './segmentation-augment.ts';
import type { MaskPair } from './segmentation-scan.ts';

/** A batch whose labels are label maps: `images × size × size` class indices (255: ignore), row-major. */
export type MaskBatch = Batch;

export interface MaskSet {
  size: number;
  /** Each image after the evaluation transform: `size * size * 3` RGB bytes. */
  images: Uint8Array[];
  /** Each image's label map at `size` × `size`. */
  labels: Uint8Array[];
  /** Each image's file, and its mask's. */
  paths: string[];
  masks: string[];
  buffers: BufferPool;
}

function pack(x: { data: Float32Array; release: () => void }, labels: Uint8Array[], size: number, indices: number[], paths: string[], batchIndex: number): MaskBatch {
  const pixels = size * size;
  const y = new Int32Array(indices.length * pixels);
  labels.forEach((l, j) => y.set(l, j * pixels));
  return {
    x: x.data, release: x.release, labels: y, size, paths: indices.map((i) => paths[i]), indices: Int32Array.from(indices), batchIndex,
  };
}

/** The training batches of one epoch from `startBatch` on: augmented, the masks moved with the images, prefetched. */
export function maskTrainBatches(pairs: readonly MaskPair[], opts: {
  sampler: SamplerConfig; epoch: number; startBatch?: number; augment: SegmentationAugmentConfig; prefetch?: number; buffers: BufferPool;
}): AsyncGenerator<MaskBatch> {
  const plan = planEpoch(opts.sampler, opts.epoch, pairs.length);
  const start = opts.startBatch ?? 0;
  if (!(Number.isInteger(start) && start >= 0 && start <= plan.length)) {
    throw new Error(`startBatch ${start} is outside epoch ${opts.epoch}, which has ${plan.length} batches`);
  }
  const paths = pairs.map((p) => p.image);
  return prefetched(plan.length - start, async (k) => {
    const batchIndex = start + k;
    const { size, indices } = plan[batchIndex];
    const pixels = size * size * 3;
    const x = opts.buffers.take(indices.length * pixels);
    const labels = await Promise.all(indices.map(async (idx, j) => {
      const sample = await segmentationTrainSample(pairs[idx], opts.augment, opts.sampler.seed, opts.epoch, idx, size);
      writeUnitFloats(sample.pixels, x.data, j * pixels, null);
      return sample.labels;
    }));
    return pack(x, labels, size, indices, paths, batchIndex);
  }, opts.prefetch);
}

/** Applies the evaluation transform (image and mask resized to `size` × `size`) to every pair once. */
export async function buildMaskSet(pairs: readonly MaskPair[], size: number, opts: BuildOptions = {}): Promise<MaskSet> {
  const images = new Array<Uint8Array>(pairs.length);
  const labels = new Array<Uint8Array>(pairs.length);
  let done = 0;
  await forEachLimit(pairs, opts.concurrency ?? DEFAULT_CONCURRENCY, async (p, i) => {
    const { image, mask } = await readMaskPair(p);
    const sample = await segmentationEvalTransform(image, mask, size, p);
    images[i] = sample.pixels;
    labels[i] = sample.labels;
    opts.onProgress?.(++done, pairs.length);
  }, opts.signal);
  return { size, images, labels, paths: pairs.map((p) => p.image), masks: pairs.map((p) => p.mask), buffers: new BufferPool() };
}

/** The evaluation set in order, in batches of `batchSize` (the last one smaller). */
export function maskEvalBatches(set: MaskSet, batchSize: number, prefetch = 1): AsyncGenerator<MaskBatch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`evaluation batch size must be a positive integer, got ${batchSize}`);
  const pixels = set.size * set.size * 3;
  return prefetched(Math.ceil(set.images.length / batchSize), async (b) => {
    const indices: number[] = [];
    for (let i = b * batchSize; i < Math.min(set.images.length, (b + 1) * batchSize); i++) indices.push(i);
    const x = set.buffers.take(indices.length * pixels);
    indices.forEach((idx, j) => writeUnitFloats(set.images[idx], x.data, j * pixels, null));
    return pack(x, indices.map((i) => set.labels[i]), set.size, indices, set.paths, b);
  }, prefetch);
}
