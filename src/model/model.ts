// A built classifier: its parameter store (timm keys) and its blocks in order (network.ts), with the pooled
// features and the classifier head that quick fine-tuning trains alone.
import * as tf from '@tensorflow/tfjs';
import type { Ctx } from './layers.ts';
import { buildMobileNetV2 } from './mobilenetv2.ts';
import { buildMobileViT } from './mobilevit.ts';
import { Network } from './network.ts';
import { ParamStore } from './params.ts';
import { classifierEntry, type VariantName } from './registry/index.ts';
import type { Variant } from './variants.ts';
import type { ForwardOptions } from './types.ts';

export interface CreateModelOptions {
  numClasses?: number;
  /** Seed for the reference initialisation (default 0). */
  seed?: number;
}

/** The most classes a model may have (the API's limit too): a classifier size read from a file is checked against it. */
export const MAX_CLASSES = 100_000;

/** Checks a class count read from a request or a file. */
export function checkNumClasses(numClasses: number): void {
  if (!Number.isSafeInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) {
    throw new RangeError(`the number of classes must be an integer from 1 to ${MAX_CLASSES}, got ${Number.isSafeInteger(numClasses) ? numClasses : 'a non-integer'}`);
  }
}

export class Model extends Network {
  readonly spec: Variant;

  constructor(readonly variant: VariantName, readonly numClasses: number, seed = 0) {
    const spec = classifierEntry(variant).spec;
    checkNumClasses(numClasses);
    const store = new ParamStore(seed);
    const built = spec.family === 'mobilevit' ? buildMobileViT(store, spec, numClasses) : buildMobileNetV2(store, spec, numClasses);
    super(store, built.blocks);
    this.spec = spec;
  }

  protected describe(): string {
    return this.variant;
  }

  /** Keys of the classifier, which a checkpoint with another number of classes cannot fill. */
  get headKeys(): string[] {
    const head = this.list[this.list.length - 1].info.name;
    return [...this.store.params.keys()].filter((k) => k.startsWith(head + '.'));
  }

  /** Draws fresh initial values for the classifier (fine-tuning with another number of classes). */
  reinitHead(): void {
    for (const key of this.headKeys) this.store.reinit(key);
  }

  /** x [B, H, W, 3] in [0, 1] (no mean/std normalisation) → logits [B, classes]. */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    return this.run(x, opts) as tf.Tensor2D;
  }

  /** Globally pooled features before the classifier [B, numFeatures]. */
  features(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    const beforeHead = this.list[this.list.length - 2].info.name;
    return tf.tidy(() => tf.mean(this.run(x, opts, beforeHead), [1, 2]) as tf.Tensor2D);
  }

  /**
   * The classifier alone on pooled features [B, numFeatures] (what features() returns) → logits; with dropout
   * when training. head(features(x)) equals forward(x).
   */
  head(features: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const [b, f] = features.shape;
    if (f !== this.spec.numFeatures) throw new Error(`head: features must be [batch, ${this.spec.numFeatures}], got [${features.shape}]`);
    const ctx: Ctx = { ...opts, training: opts.training ?? false };
    const last = this.list[this.list.length - 1];
    return tf.tidy(() => last.apply(tf.reshape(features, [b, 1, 1, f]) as tf.Tensor4D, ctx) as tf.Tensor2D);
  }
}

export function createModel(variant: VariantName, opts: CreateModelOptions = {}): Model {
  return new Model(variant, opts.numClasses ?? 1000, opts.seed ?? 0);
}
