// An object detector: SSDLite on a MobileViT backbone (ssdlite.ts). Its forward pass gives, per anchor, the box
// deltas and the class logits (background first), with the anchors of the feature maps it actually saw, so any
// input size works.
import * as tf from '@tensorflow/tfjs';
import { makeAnchors } from './anchors.ts';
import type { Block } from './block.ts';
import type { Ctx } from './layers.ts';
import { checkNumClasses } from './model.ts';
import { Network } from './network.ts';
import { ParamStore } from './params.ts';
import { buildSsdLite, SSDLITE_SPEC } from './ssdlite.ts';
import { denseEntry, type DetectionVariantName } from './registry/index.ts';
import type { ForwardOptions } from './types.ts';

export interface DetectorOutput {
  /** [B, A, 4]: (dx, dy, dw, dh) per anchor. */
  boxDeltas: tf.Tensor3D;
  /** [B, A, classes]: raw logits, class 0 the background. */
  classLogits: tf.Tensor3D;
  /** [A·4]: (cx, cy, w, h) per anchor, normalised, for the maps of this input size. */
  anchors: Float32Array;
}

/** `frozenBackbone`: the backbone runs in inference mode (BatchNorm's running statistics used and kept) whatever
 *  `training` says, as a quick fine-tune trains only the extra layers and heads on it. */
export interface DetectorForwardOptions extends ForwardOptions {
  frozenBackbone?: boolean;
}

export class DetectionModel extends Network {
  private readonly levelSources: [string, string];
  private readonly extras: Block[];
  private readonly heads: Block[];
  private readonly perAnchor: number;

  /** `numClasses` counts the background (COCO: 81). */
  constructor(readonly variant: DetectionVariantName, readonly numClasses: number, seed = 0) {
    const { backbone } = denseEntry(variant, 'detection').spec;
    checkNumClasses(numClasses);
    if (numClasses < 2) throw new RangeError('a detector needs the background and at least one class');
    const store = new ParamStore(seed);
    const built = buildSsdLite(store, backbone, numClasses);
    super(store, built.list.blocks);
    this.levelSources = built.levelSources;
    this.extras = built.extras;
    this.heads = built.heads;
    this.perAnchor = built.perAnchor;
  }

  protected describe(): string {
    return this.variant;
  }

  /** The class layers of the heads: a checkpoint with other labels keeps the backbone, extra layers and projections. */
  get headKeys(): string[] {
    return [...this.store.params.keys()].filter((k) => /^ssd_heads\.\d+\.loc_cls_layer\.(pw_conv\.)?block\.conv\./.test(k) || /^ssd_heads\.5\.loc_cls_layer\./.test(k));
  }

  reinitHead(): void {
    for (const key of this.headKeys) this.store.reinit(key);
  }

  /** Each anchor's 4 deltas then its class logits as one tensor [B, A, 4 + classes]: what the box objective and a device's 'logits' read. */
  joined(x: tf.Tensor4D, opts: DetectorForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => {
      const out = this.forward(x, opts);
      return tf.concat([out.boxDeltas, out.classLogits], 2);
    });
  }

  forward(x: tf.Tensor4D, opts: DetectorForwardOptions = {}): DetectorOutput {
    this.checkInput(x);
    const ctx: Ctx = { ...opts, training: opts.training ?? false };
    const backboneCtx: Ctx = opts.frozenBackbone ? { ...ctx, training: false } : ctx;
    const sizes: [number, number][] = [];
    const [boxDeltas, classLogits] = tf.tidy(() => {
      const levels: tf.Tensor4D[] = [];
      let h: tf.Tensor4D = x;
      for (const block of this.list) {
        if (this.extras.includes(block) || this.heads.includes(block)) break;
        h = this.applyBlock(block, h, backboneCtx) as tf.Tensor4D;
        if (this.levelSources.includes(block.info.name)) levels.push(h);
      }
      for (const block of this.extras) {
        h = this.applyBlock(block, h, ctx) as tf.Tensor4D;
        levels.push(h);
      }
      const [b] = x.shape;
      const per = levels.map((level, i) => {
        sizes.push([level.shape[1], level.shape[2]]);
        const y = this.applyBlock(this.heads[i], level, ctx);
        return tf.reshape(y, [b, -1, this.perAnchor]);
      });
      const all = tf.concat(per, 1);
      return [tf.slice(all, [0, 0, 0], [-1, -1, 4]) as tf.Tensor3D, tf.slice(all, [0, 0, 4], [-1, -1, -1]) as tf.Tensor3D];
    });
    return { boxDeltas, classLogits, anchors: makeAnchors(sizes, SSDLITE_SPEC.anchors) };
  }
}
