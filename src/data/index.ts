// The data layer's public surface: scan a folder, build the training cache and evaluation set, plan batches
// with the sampler, and load them.
export { scanDataset, toScanSummary, assertTrainable, DatasetError, IMAGE_EXTENSIONS } from './scan.ts';
export type { DatasetScan, ImageEntry, SkippedFile, ClassCount, SizeStats, ScanOptions, ScanProgress } from './scan.ts';
export { ImageReadError, type RgbImage } from './decode.ts';
export { DEFAULT_AUGMENT, validateAugment, type AugmentConfig } from './augment.ts';
export {
  EVAL_CROP_PCT, decodeForEval, evalResizeSize, type EvalImage,
} from './eval-transform.ts';
export { DEFAULT_CACHE_BUDGET_BYTES, defaultCacheShortSide, type CachePlan } from './cache.ts';
export { buildTrainSet, trainBatches, buildEvalSet, evalBatches } from './loader.ts';
export type { Batch, TrainSet, EvalSet, TrainBatchOptions, BuildOptions } from './loader.ts';
export { planEpoch, samplerSizes, batchSizeAt, maxTrainSize, totalBatches } from './sampler.ts';
export type { SamplerConfig, SamplerState, PlannedBatch } from './sampler.ts';
export { makeThumbnail, type Thumbnail } from './thumbnail.ts';
export { benchPipeline, type PipelineBenchResult, type PipelineBenchOptions } from './bench.ts';
