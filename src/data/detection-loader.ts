// Batches of a detection dataset: images with their boxes. The same sampler plans the epochs as for the other
// tasks (sampler.ts: order, resolutions, resume position); each image's crop, photometric distortion and flip are
// drawn from (seed, epoch, index) (detection-augment.ts), so a batch does not depend on batching or on where a run
// resumed. Training images are decoded from disk for every batch, as segmentation's: the crop moves the boxes.
// What a batch's labels hold is the caller's (the training task encodes each image's boxes as anchor targets,
// which this layer knows nothing of): `encode` turns one sample's boxes into its fixed-length row of labels.
import { BufferPool } from './buffer-pool.ts';
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { detectionEvalTransform, detectionTrainSample, readDetectionImage, type DetectionAugmentConfig, type DetectionSample } from './detection-augment.ts';
import type { DetectionImage } from './detection-scan.ts';
import type { Batch, BuildOptions } from './loader.ts';
import { writeUnitFloats } from './pixels.ts';
import { prefetched } from './prefetch.ts';
import { planEpoch, type SamplerConfig } from './sampler.ts';

/** One image's labels for a batch of `size` × `size` images: every image of a size gives the same length. */
export type EncodeBoxes = (sample: DetectionSample, size: number) => Int32Array;

/** The training batches of one epoch from `startBatch` on: augmented, the boxes moved with the pixels, prefetched. */
export function detectionTrainBatches(images: readonly DetectionImage[], opts: {
  sampler: SamplerConfig; epoch: number; startBatch?: number; augment: DetectionAugmentConfig; prefetch?: number; buffers: BufferPool; encode: EncodeBoxes;
}): AsyncGenerator<Batch> {
  const plan = planEpoch(opts.sampler, opts.epoch, images.length);
  const start = opts.startBatch ?? 0;
  if (!(Number.isInteger(start) && start >= 0 && start <= plan.length)) {
    throw new Error(`startBatch ${start} is outside epoch ${opts.epoch}, which has ${plan.length} batches`);
  }
  return prefetched(plan.length - start, async (k) => {
    const batchIndex = start + k;
    const { size, indices } = plan[batchIndex];
    const pixels = size * size * 3;
    const x = opts.buffers.take(indices.length * pixels);
    const rows = await Promise.all(indices.map(async (idx, j) => {
      const sample = await detectionTrainSample(images[idx], opts.augment, opts.sampler.seed, opts.epoch, idx, size);
      writeUnitFloats(sample.pixels, x.data, j * pixels, null);
      return opts.encode(sample, size);
    }));
    const labels = new Int32Array(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of rows) {
      if (r.length !== rows[0].length) throw new Error(`detection batch: image rows of ${rows[0].length} and ${r.length} labels at ${size} px`);
      labels.set(r, at);
      at += r.length;
    }
    return {
      x: x.data, release: x.release, labels, size, paths: indices.map((i) => images[i].image), indices: Int32Array.from(indices), batchIndex,
    };
  }, opts.prefetch);
}

/** A validation set after the evaluation transform (resized to `size` × `size`), with each image's boxes as scanned. */
export interface DetectionSet {
  size: number;
  /** `size * size * 3` RGB bytes per image. */
  pixels: Uint8Array[];
  /** The images as scanned: boxes in pixels of the original, crowd regions included (COCO evaluates in those). */
  images: readonly DetectionImage[];
  buffers: BufferPool;
}

export async function buildDetectionSet(images: readonly DetectionImage[], size: number, opts: BuildOptions = {}): Promise<DetectionSet> {
  const pixels = new Array<Uint8Array>(images.length);
  let done = 0;
  await forEachLimit(images, opts.concurrency ?? DEFAULT_CONCURRENCY, async (image, i) => {
    pixels[i] = (await detectionEvalTransform(await readDetectionImage(image), image, size)).pixels;
    opts.onProgress?.(++done, images.length);
  }, opts.signal);
  return { size, pixels, images, buffers: new BufferPool() };
}

/** The evaluation set in order, in batches of `batchSize` (the last one smaller); labels are empty. */
export function detectionEvalBatches(set: DetectionSet, batchSize: number, prefetch = 1): AsyncGenerator<Batch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`evaluation batch size must be a positive integer, got ${batchSize}`);
  const length = set.size * set.size * 3;
  return prefetched(Math.ceil(set.pixels.length / batchSize), async (b) => {
    const indices: number[] = [];
    for (let i = b * batchSize; i < Math.min(set.pixels.length, (b + 1) * batchSize); i++) indices.push(i);
    const x = set.buffers.take(indices.length * length);
    indices.forEach((idx, j) => writeUnitFloats(set.pixels[idx], x.data, j * length, null));
    return {
      x: x.data, release: x.release, labels: new Int32Array(0), size: set.size, paths: indices.map((i) => set.images[i].image),
      indices: Int32Array.from(indices), batchIndex: b,
    };
  }, prefetch);
}
