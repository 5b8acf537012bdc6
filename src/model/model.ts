// A built model: its parameter store (timm keys) and its blocks in order. forward() is the one pass
// that training, evaluation, inspection and profiling all use.
import * as tf from '@tensorflow/tfjs';
import type { Block } from './block.ts';
import type { Ctx } from './layers.ts';
import { buildMobileNetV2 } from './mobilenetv2.ts';
import { buildMobileViT } from './mobilevit.ts';
import { ParamStore, type Param } from './params.ts';
import { VARIANTS, type Variant } from './variants.ts';
import { MIN_INPUT_SIZE, VARIANT_NAMES, type BlockInfo, type ForwardOptions, type VariantName } from './types.ts';

export interface CreateModelOptions {
  numClasses?: number;
  /** Seed for the reference initialisation (default 0). */
  seed?: number;
}

/** The most classes a model may have (the API's limit too): a classifier size read from a file is checked against it. */
export const MAX_CLASSES = 100_000;

export class Model {
  readonly spec: Variant;
  private readonly store: ParamStore;
  private readonly list: Block[];

  constructor(readonly variant: VariantName, readonly numClasses: number, seed = 0) {
    if (!VARIANT_NAMES.includes(variant)) {
      throw new Error(`unknown variant "${variant}" (expected one of ${VARIANT_NAMES.join(', ')})`);
    }
    if (!Number.isSafeInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) {
      throw new RangeError(`the number of classes must be an integer from 1 to ${MAX_CLASSES}, got ${Number.isSafeInteger(numClasses) ? numClasses : 'a non-integer'}`);
    }
    this.spec = VARIANTS[variant];
    this.store = new ParamStore(seed);
    const built = this.spec.family === 'mobilevit'
      ? buildMobileViT(this.store, this.spec, numClasses)
      : buildMobileNetV2(this.store, this.spec, numClasses);
    this.list = built.blocks;
  }

  /** Every weight and buffer by timm key, in registration order (= timm's state_dict order). */
  get params(): ReadonlyMap<string, Param> {
    return this.store.params;
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

  blocks(): BlockInfo[] {
    return this.list.map((b) => b.info);
  }

  /** Trainable parameter count (BatchNorm buffers excluded), as timm counts them. */
  paramCount(): number {
    return this.store.count();
  }

  trainableVariables(): tf.Variable[] {
    return [...this.store.params.values()].filter((p) => p.trainable).map((p) => p.variable);
  }

  /** x [B, H, W, 3] in [0, 1] (no mean/std normalisation) → logits [B, classes]. */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor2D {
    return this.run(x, opts) as tf.Tensor2D;
  }

  /** Runs the network up to and including the named block and returns that block's output. */
  forwardUntil(x: tf.Tensor4D, blockName: string, opts: ForwardOptions = {}): tf.Tensor {
    if (!this.list.some((b) => b.info.name === blockName)) {
      throw new Error(`no block "${blockName}" in ${this.variant} (blocks: ${this.list.map((b) => b.info.name).join(', ')})`);
    }
    return this.run(x, opts, blockName);
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

  private run(x: tf.Tensor4D, opts: ForwardOptions, until?: string): tf.Tensor {
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`input must be [batch, height, width, 3], got [${x.shape}]`);
    if (x.shape[1] < MIN_INPUT_SIZE || x.shape[2] < MIN_INPUT_SIZE) throw new Error(`input must be at least ${MIN_INPUT_SIZE}×${MIN_INPUT_SIZE} pixels, got ${x.shape[1]}×${x.shape[2]}`);
    const ctx: Ctx = { ...opts, training: opts.training ?? false };
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      for (const { info, apply } of this.list) {
        opts.probe?.blockStart?.(info, h as tf.Tensor4D);
        h = apply(h as tf.Tensor4D, ctx);
        opts.probe?.blockEnd?.(info, h);
        if (info.name === until) break;
      }
      return h;
    });
  }

  dispose(): void {
    this.store.dispose();
  }
}

export function createModel(variant: VariantName, opts: CreateModelOptions = {}): Model {
  return new Model(variant, opts.numClasses ?? 1000, opts.seed ?? 0);
}
