// The batch sampler: fixed-size, or multi-scale as in the MobileViT paper and ml-cvnets' variable batch sampler.
//
// Multi-scale: every batch has one resolution, drawn uniformly from a set around the base size; its batch size is
// scaled by (base/size)² so every batch holds about the same number of pixels; each epoch visits every image
// exactly once (the last batch holds the remainder). The resolution set is src/protocol/multi-scale.ts's rule.
//
// A plan is a pure function of (config, epoch, dataset size), so a sampler's whole state is (epoch, batchIndex):
// a resumed run recomputes the plan and continues at the same batch.
import { multiScaleSizes } from '../protocol/multi-scale.ts';
import { Rng, mixSeed } from '../util/random.ts';

export interface SamplerConfig {
  /** Base resolution (square side in pixels). */
  baseSize: number;
  /** Batch size at the base resolution. */
  batchSize: number;
  multiScale: boolean;
  seed: number;
  /** Overrides the multi-scale resolution set. */
  sizes?: number[];
}

export interface PlannedBatch {
  size: number;
  /** Indices into the training set. */
  indices: number[];
}

/** Everything a resumed run needs to continue at the same batch. */
export interface SamplerState {
  epoch: number;
  batchIndex: number;
}

/** The resolutions a config trains at, ascending. */
export function samplerSizes(config: SamplerConfig): number[] {
  validate(config);
  if (!config.multiScale) return [config.baseSize];
  if (config.sizes) return [...new Set(config.sizes)].sort((a, b) => a - b);
  return multiScaleSizes(config.baseSize);
}

/** Batch size at `size`: the base batch scaled by (base/size)², rounded down, at least 1. */
export function batchSizeAt(config: SamplerConfig, size: number): number {
  return Math.max(1, Math.floor((config.batchSize * config.baseSize * config.baseSize) / (size * size)));
}

/** The largest resolution the config trains at (what the image cache must be sized for). */
export function maxTrainSize(config: SamplerConfig): number {
  const sizes = samplerSizes(config);
  return sizes[sizes.length - 1];
}

/** The batches of one epoch, in order. Pure: same inputs, same plan. */
export function planEpoch(config: SamplerConfig, epoch: number, datasetSize: number): PlannedBatch[] {
  const sizes = samplerSizes(config);
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`sampler epoch must be a non-negative integer, got ${epoch}`);
  if (!Number.isInteger(datasetSize) || datasetSize < 0) throw new Error(`dataset size must be a non-negative integer, got ${datasetSize}`);
  // Separate streams for the order and the resolutions, so fixed-size and multi-scale runs with the same seed
  // see images in the same order.
  const order = new Rng(mixSeed(config.seed, epoch, 1)).shuffle(Array.from({ length: datasetSize }, (_, i) => i));
  const pick = new Rng(mixSeed(config.seed, epoch, 2));
  const batches: PlannedBatch[] = [];
  for (let start = 0; start < datasetSize; ) {
    const size = sizes.length === 1 ? sizes[0] : sizes[pick.int(0, sizes.length - 1)];
    const end = Math.min(datasetSize, start + batchSizeAt(config, size));
    batches.push({ size, indices: order.slice(start, end) });
    start = end;
  }
  return batches;
}

/** Total batches over epochs [0, epochs): what a learning-rate schedule needs up front. */
export function totalBatches(config: SamplerConfig, epochs: number, datasetSize: number): number {
  let n = 0;
  for (let e = 0; e < epochs; e++) n += planEpoch(config, e, datasetSize).length;
  return n;
}

function validate(c: SamplerConfig): void {
  const posInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (!posInt(c.baseSize)) throw new Error(`sampler baseSize must be a positive integer, got ${c.baseSize}`);
  if (!posInt(c.batchSize)) throw new Error(`sampler batchSize must be a positive integer, got ${c.batchSize}`);
  if (c.sizes && (c.sizes.length === 0 || !c.sizes.every(posInt))) {
    throw new Error(`sampler sizes must be positive integers, got [${c.sizes.join(', ')}]`);
  }
}
