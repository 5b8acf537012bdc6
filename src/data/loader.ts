// Batch loaders. The trainer turns each batch into a tensor; everything before that (decoding, augmentation,
// conversion to floats) happens here, ahead of time, while the model computes on the previous batch.
import { DEFAULT_AUGMENT, augmentedPixels, drawAugmentation, validateAugment, type AugmentConfig } from './augment.ts';
import { BufferPool } from './buffer-pool.ts';
import { DEFAULT_CACHE_BUDGET_BYTES, ImageCache, defaultCacheShortSide, planCache, type CachePlan } from './cache.ts';
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { EVAL_CROP_PCT, evalTransformBytes } from './eval-transform.ts';
import type { Interpolation } from '../util/interpolation.ts';
import { writeUnitFloats } from './pixels.ts';
import { prefetched } from './prefetch.ts';
import { planEpoch, type SamplerConfig } from './sampler.ts';
import type { ImageEntry } from './scan.ts';

export interface Batch {
  /** NHWC float32 in [0, 1]: `labels.length * size * size * 3` values. */
  x: Float32Array;
  labels: Int32Array;
  /** Square side in pixels. */
  size: number;
  paths: string[];
  /** Positions of the images in their set (train or eval). */
  indices: Int32Array;
  /** Position of this batch in the epoch's plan (for the sampler state). */
  batchIndex: number;
  /** Hands `x` back for reuse by a later batch. Call it once nothing reads `x` any more: after the input tensor
   *  made from it is disposed (the cpu backend keeps the array itself), or right after creating the tensor on
   *  backends that copy (wasm, node). Optional: a batch never released is garbage-collected. */
  release: () => void;
}

export interface BuildOptions {
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface TrainSet {
  cache: ImageCache;
  cachePlan: CachePlan;
  labels: Int32Array;
  paths: string[];
  buffers: BufferPool;
}

/**
 * Decodes the training images into the cache, sized for `maxTrainSize` (the sampler's largest resolution) unless
 * that would exceed `budgetBytes`, in which case images are stored smaller (`cachePlan.reduced` says so).
 */
export async function buildTrainSet(
  entries: readonly ImageEntry[],
  opts: BuildOptions & { maxTrainSize: number; shortSide?: number; budgetBytes?: number },
): Promise<TrainSet> {
  const wanted = opts.shortSide ?? defaultCacheShortSide(opts.maxTrainSize);
  const cachePlan = planCache(entries, wanted, opts.budgetBytes ?? DEFAULT_CACHE_BUDGET_BYTES, opts.maxTrainSize);
  const paths = entries.map((e) => e.path);
  const cache = await ImageCache.build(paths, cachePlan.shortSide, opts);
  return { cache, cachePlan, labels: Int32Array.from(entries, (e) => e.label), paths, buffers: new BufferPool() };
}

export interface TrainBatchOptions {
  sampler: SamplerConfig;
  epoch: number;
  /** Resume point within the epoch (the sampler state's batchIndex). */
  startBatch?: number;
  augment?: AugmentConfig;
  /** Batches prepared ahead while the consumer holds one (default 2). */
  prefetch?: number;
}

/** The training batches of one epoch, from `startBatch` on, augmented and prefetched. */
export function trainBatches(set: TrainSet, opts: TrainBatchOptions): AsyncGenerator<Batch> {
  const augment = opts.augment ?? DEFAULT_AUGMENT;
  validateAugment(augment);
  const plan = planEpoch(opts.sampler, opts.epoch, set.cache.length);
  const start = opts.startBatch ?? 0;
  if (!(Number.isInteger(start) && start >= 0 && start <= plan.length)) {
    throw new Error(`startBatch ${start} is outside epoch ${opts.epoch}, which has ${plan.length} batches`);
  }
  return prefetched(
    plan.length - start,
    async (k) => {
      const batchIndex = start + k;
      const { size, indices } = plan[batchIndex];
      const pixels = size * size * 3;
      const x = set.buffers.take(indices.length * pixels);
      await Promise.all(
        indices.map(async (idx, j) => {
          const img = set.cache.get(idx);
          const aug = drawAugmentation(augment, opts.sampler.seed, opts.epoch, idx, img.width, img.height);
          writeUnitFloats(await augmentedPixels(img, size, aug), x.data, j * pixels, aug.jitter);
        }),
      );
      return packBatch(x, size, indices, set, batchIndex);
    },
    opts.prefetch,
  );
}

export interface EvalSet {
  size: number;
  /** Each image after the evaluation transform: `size * size * 3` RGB bytes. */
  images: Uint8Array[];
  labels: Int32Array;
  paths: string[];
  buffers: BufferPool;
}

/** Applies the evaluation transform to every image once; evaluations then only copy bytes. */
export async function buildEvalSet(entries: readonly ImageEntry[], size: number, opts: BuildOptions & { cropPct?: number; interpolation?: Interpolation } = {}): Promise<EvalSet> {
  const images = new Array<Uint8Array>(entries.length);
  let done = 0;
  await forEachLimit(
    entries,
    opts.concurrency ?? DEFAULT_CONCURRENCY,
    async (e, i) => {
      images[i] = (await evalTransformBytes(e.path, size, opts.cropPct ?? EVAL_CROP_PCT, opts.interpolation)).data;
      opts.onProgress?.(++done, entries.length);
    },
    opts.signal,
  );
  return { size, images, labels: Int32Array.from(entries, (e) => e.label), paths: entries.map((e) => e.path), buffers: new BufferPool() };
}

/** The evaluation set in order, in batches of `batchSize` (the last one smaller). */
export function evalBatches(set: EvalSet, batchSize: number, prefetch = 1): AsyncGenerator<Batch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`evaluation batch size must be a positive integer, got ${batchSize}`);
  const pixels = set.size * set.size * 3;
  return prefetched(
    Math.ceil(set.images.length / batchSize),
    async (b) => {
      const indices = [];
      for (let i = b * batchSize; i < Math.min(set.images.length, (b + 1) * batchSize); i++) indices.push(i);
      const x = set.buffers.take(indices.length * pixels);
      indices.forEach((idx, j) => writeUnitFloats(set.images[idx], x.data, j * pixels, null));
      return packBatch(x, set.size, indices, set, b);
    },
    prefetch,
  );
}

function packBatch(
  x: { data: Float32Array; release: () => void },
  size: number,
  indices: number[],
  set: { labels: Int32Array; paths: string[] },
  batchIndex: number,
): Batch {
  return {
    x: x.data,
    release: x.release,
    labels: Int32Array.from(indices, (i) => set.labels[i]),
    size,
    paths: indices.map((i) => set.paths[i]),
    indices: Int32Array.from(indices),
    batchIndex,
  };
}
