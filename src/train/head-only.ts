// Quick fine-tuning (TrainSettings.headOnly): the backbone is frozen for the whole run, so its pooled features
// depend only on the image and its augmentation. They are computed once — one row per image and view — and every
// training step after that is the classifier alone on cached rows: seconds instead of minutes on a CPU.
//
// Which views. Without random crops or colour jitter (what a quick run's recipe resolves to), a training image's
// view is its evaluation view — the run's evaluation transform, the same resize kernel and crop — and, with flips
// on, its mirror: what a linear probe trains on. Views through the training pipeline instead (a bilinear resize
// that stretches the whole image to a square, where evaluation resizes the shorter side with bicubic and crops)
// gave the classifier rows from another distribution than the ones it is evaluated on, and a random-resized crop
// drawn once per view is no augmentation, only two fixed, partial views of each image: on a Fashion-MNIST
// transfer task (bench/zoo.ts) both cost several points of top-1 against a linear probe. Explicit random crops
// or jitter still give HEAD_ONLY_VIEWS random views through the training pipeline.
//
// The backbone runs in inference mode (BatchNorm running statistics, no dropout), as a frozen backbone should:
// features(x) here are exactly what Model.forward computes before its head, so head(features(x)) = forward(x).
import * as tf from '@tensorflow/tfjs';
import type { AugmentConfig } from '../data/augment.ts';
import { evalBatches, trainBatches, type Batch, type EvalSet, type TrainSet } from '../data/loader.ts';
import { planEpoch, type SamplerConfig } from '../data/sampler.ts';
import type { LoadReport } from '../model/weights.ts';
import { readSafetensors } from '../model/safetensors.ts';
import type { Model } from '../model/model.ts';
import type { ForwardOptions } from '../model/types.ts';
import { evaluate, type EvalBatch, type Evaluation } from './evaluate.ts';
import type { TrainableModel } from '../optim/trainer.ts';
import { LocalDevice, type ComputeDevice } from '../device/device.ts';
import type { InferenceRuntime } from '../protocol/devices.ts';
import { openFeatureSource } from './feature-runtime.ts';
import type { HeadRows } from './head-solve.ts';
import { loadKeepingHead } from './keep-head.ts';

/** Random views cached per training image when augmentation crops or jitters (epoch e trains on view e mod VIEWS). */
export const HEAD_ONLY_VIEWS = 2;
/** Images per backbone pass while the features are computed. */
const FEATURE_BATCH = 16;

/** No random crop, jitter or RandAugment: a training image's views are its evaluation view and, with flips, its mirror. */
export const wholeImage = (a: AugmentConfig) => a.scale[0] >= 1 && a.colorJitter === 0 && !a.randAugment;

/**
 * Views per image: 1 when the augmentation draws nothing (whole image, no flip, no jitter); 2 when it only flips
 * (the image and its mirror: all there is); else HEAD_ONLY_VIEWS random views.
 */
export function viewsFor(augment: AugmentConfig): number {
  if (wholeImage(augment)) return augment.hflip === 0 ? 1 : 2;
  return HEAD_ONLY_VIEWS;
}

/** The augmentation of view `v`: with flips only, view 0 is the image and view 1 its mirror; else the run's own. */
export function viewAugment(augment: AugmentConfig, view: number): AugmentConfig {
  return wholeImage(augment) && augment.hflip > 0 ? { ...augment, hflip: view % 2 } : augment;
}

/**
 * The classifier as a trainable model of its own: input [B, 1, 1, F] pooled features, parameters the model's
 * head only (so the optimizer, its checkpoint state and the EMA cover exactly what trains).
 */
export function headOnlyView(model: Model): TrainableModel & { forward(x: tf.Tensor4D, opts?: ForwardOptions): tf.Tensor2D } {
  const keys = model.headKeys;
  const params = new Map([...model.params].filter(([k]) => keys.includes(k)));
  return {
    params,
    headKeys: keys,
    forward: (x, opts) => tf.tidy(() => model.head(tf.reshape(x, [x.shape[0], x.shape[3]]) as tf.Tensor2D, opts)),
  };
}

export interface FeatureBankOptions {
  /** The training resolution. */
  size: number;
  augment: AugmentConfig;
  seed: number;
  views?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** The run's compute device, where TF.js computes the backbone passes (default: this process's backend). */
  device?: ComputeDevice;
  /** Says which runtime computes the features, where, and why. */
  onNote?: (note: string) => void;
  /** The runtime of the backbone passes (default 'auto': feature-runtime.ts's rule). */
  runtime?: InferenceRuntime | 'auto';
}

/**
 * A quick run's training images: with wholeImage augmentation, the images through the run's evaluation transform
 * (buildEvalSet of the training entries), whose views these are; else the training set the random views are drawn from.
 */
export type FeatureTraining = EvalSet | TrainSet;

const imageCount = (t: FeatureTraining) => ('cache' in t ? t.cache.length : t.images.length);

/** Mirrors n images [n, size, size, 3] left to right, in place (the flip of a whole-image view). */
export function mirrorImages(x: Float32Array, n: number, size: number): Float32Array {
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      const row = (i * size + y) * size;
      for (let l = 0, r = size - 1; l < r; l++, r--) {
        for (let c = 0; c < 3; c++) {
          const a = (row + l) * 3 + c;
          const b = (row + r) * 3 + c;
          const t = x[a]; x[a] = x[b]; x[b] = t;
        }
      }
    }
  }
  return x;
}

/** The batches of view `v` of every training image, each with its images' positions in the training set. */
function viewBatches(training: FeatureTraining, opts: FeatureBankOptions, v: number): AsyncGenerator<Batch> {
  if (!wholeImage(opts.augment)) {
    if (!('cache' in training)) throw new Error('head-only: random views are drawn from the training set, not from evaluation-transformed images');
    // The same pipeline as training (augmentation drawn from (seed, view, image)), at a fixed size.
    const sampler: SamplerConfig = { baseSize: opts.size, batchSize: FEATURE_BATCH, multiScale: false, seed: opts.seed };
    return trainBatches(training, { sampler, epoch: v, augment: viewAugment(opts.augment, v) });
  }
  if ('cache' in training || training.size !== opts.size) {
    throw new Error(`head-only: whole-image views need the training images through the evaluation transform at ${opts.size} px`);
  }
  const views = training;
  if (v === 0) return evalBatches(views, FEATURE_BATCH);
  return (async function* mirrored() {
    for await (const b of evalBatches(views, FEATURE_BATCH)) yield { ...b, x: mirrorImages(b.x, b.indices.length, b.size) };
  })();
}


/** Every training image's features under each view, and the evaluation set's, computed once. */
export class FeatureBank {
  private constructor(
    readonly dim: number,
    readonly views: number,
    /** [views][images][dim]. */
    private readonly train: Float32Array,
    private readonly trainCount: number,
    private readonly evalRows: { features: Float32Array; labels: Int32Array; paths: string[] } | null,
  ) {}

  static async build(model: Model, training: FeatureTraining, evalSet: EvalSet | null, opts: FeatureBankOptions): Promise<FeatureBank> {
    const dim = model.spec.numFeatures;
    const views = opts.views ?? viewsFor(opts.augment);
    const n = imageCount(training);
    const evalCount = evalSet?.images.length ?? 0;
    const total = n * views + evalCount;
    let done = 0;
    const train = new Float32Array(views * n * dim);
    // On the faster runtime of the machine (feature-runtime.ts); TF.js on the run's device, which on wasm-workers
    // splits each batch across its threads: inference rows do not depend on the split (tested bit for bit), nor on
    // the runtime beyond float noise (tested).
    const source = await openFeatureSource(model, opts.size, {
      device: opts.device ?? new LocalDevice(tf.getBackend()), pixels: total * opts.size * opts.size, runtime: opts.runtime, onNote: opts.onNote,
    });
    const featuresOf = (x: Float32Array, n: number, size: number) => source.features(x, n, size);
    try {
      for (let v = 0; v < views; v++) {
        for await (const b of viewBatches(training, opts, v)) {
          if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
          const f = await featuresOf(b.x, b.indices.length, b.size);
          b.release();
          b.indices.forEach((idx, j) => train.set(f.subarray(j * dim, (j + 1) * dim), (v * n + idx) * dim));
          opts.onProgress?.((done += b.indices.length), total);
        }
      }
      let evalRows: FeatureBank['evalRows'] = null;
      if (evalSet) {
        const features = new Float32Array(evalCount * dim);
        for await (const b of evalBatches(evalSet, FEATURE_BATCH)) {
          if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
          const f = await featuresOf(b.x, b.indices.length, b.size);
          b.release();
          b.indices.forEach((idx, j) => features.set(f.subarray(j * dim, (j + 1) * dim), idx * dim));
          opts.onProgress?.((done += b.indices.length), total);
        }
        evalRows = { features, labels: evalSet.labels, paths: evalSet.paths };
      }
      return new FeatureBank(dim, views, train, n, evalRows);
    } finally {
      await source.close();
    }
  }

  /** Every cached training row (each view of each image) with its label and image, for the head solver. */
  rows(labels: Int32Array, classes: number): HeadRows {
    const n = this.trainCount;
    return {
      x: this.train, dim: this.dim, classes,
      labels: Int32Array.from({ length: this.views * n }, (_, r) => labels[r % n]),
      images: Int32Array.from({ length: this.views * n }, (_, r) => r % n),
    };
  }

  /** The view epoch `epoch` trains on. */
  viewOf(epoch: number): number {
    return epoch % this.views;
  }

  /** Rows of `indices` for `epoch`'s view, shaped [n, 1, 1, dim] for headOnlyView. */
  tensor(epoch: number, indices: ArrayLike<number>): tf.Tensor4D {
    const v = this.viewOf(epoch);
    const out = new Float32Array(indices.length * this.dim);
    for (let j = 0; j < indices.length; j++) {
      const at = (v * this.trainCount + indices[j]) * this.dim;
      out.set(this.train.subarray(at, at + this.dim), j * this.dim);
    }
    return tf.tensor4d(out, [indices.length, 1, 1, this.dim]);
  }

  /**
   * An epoch's batches in the sampler's plan (the same order a full run would see), as loader Batches whose
   * `x` holds the features; `size` is the plan's resolution (the features were computed at the run's size).
   */
  async *batches(sampler: SamplerConfig, epoch: number, startBatch: number, labels: Int32Array): AsyncGenerator<Batch> {
    const plan = planEpoch(sampler, epoch, this.trainCount);
    for (let batchIndex = startBatch; batchIndex < plan.length; batchIndex++) {
      const { size, indices } = plan[batchIndex];
      yield {
        x: new Float32Array(0), labels: Int32Array.from(indices, (i) => labels[i]), size, paths: [], indices: Int32Array.from(indices),
        batchIndex, release: () => {},
      };
    }
  }

  /** Evaluates the head on the cached evaluation features (the same numbers as a full forward pass). */
  async evaluate(model: Model, batchSize: number, classes: string[]): Promise<Evaluation> {
    const rows = this.evalRows;
    if (!rows) throw new Error('head-only: no evaluation set');
    const dim = this.dim;
    async function* batches(): AsyncGenerator<EvalBatch> {
      for (let s = 0; s < rows!.labels.length; s += batchSize) {
        const e = Math.min(rows!.labels.length, s + batchSize);
        yield { x: tf.tensor4d(rows!.features.subarray(s * dim, e * dim), [e - s, 1, 1, dim]), labels: rows!.labels.subarray(s, e), files: rows!.paths.slice(s, e) };
      }
    }
    return evaluate(headOnlyView(model), batches(), classes);
  }
}

/**
 * Loads pretrained weights for fine-tuning on `classes`. The classifier is kept only when the file says it
 * predicts exactly these classes, in this order (the studio stores them in the safetensors metadata); another
 * label set, or a foreign file of the same size whose labels are unknown, gets a fresh head, and a note says so.
 */
export function loadForFineTune(model: Model, path: string, classes: readonly string[]): LoadReport {
  const { report, fate } = loadKeepingHead(model, readSafetensors(path), path, classes);
  if (fate.head === 'other-size') return report;
  const note = fate.head === 'kept' ? `the classifier of ${path} predicts these ${classes.length} classes: kept, fine-tuning continues from it`
    : `classifier re-initialised: ${fate.why}; backbone loaded for fine-tuning`;
  return { ...report, notes: [...report.notes, note] };
}
