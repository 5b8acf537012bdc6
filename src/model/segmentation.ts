// A semantic-segmentation network: DeepLabv3 on a MobileViT backbone (deeplabv3.ts). Its logits come out at
// 1/16 of the input; the loss and the prediction upsample them (bilinear, align_corners false) to the size
// they are compared at, as transformers does.
import * as tf from '@tensorflow/tfjs';
import { buildDeepLabV3, SEGMENTATION_HEAD_PREFIX } from './deeplabv3.ts';
import { checkNumClasses } from './model.ts';
import { Network } from './network.ts';
import { ParamStore } from './params.ts';
import { resizeBilinear } from './unfold.ts';
import { denseEntry, type SegmentationVariantName } from './registry/index.ts';
import type { ForwardOptions } from './types.ts';

/** How far the logits are below the input: every output pixel covers 16×16 input pixels. */
export const SEGMENTATION_OUTPUT_STRIDE = 16;

export class SegmentationModel extends Network {
  constructor(readonly variant: SegmentationVariantName, readonly numClasses: number, seed = 0) {
    const { backbone } = denseEntry(variant, 'segmentation').spec;
    checkNumClasses(numClasses);
    const store = new ParamStore(seed);
    super(store, buildDeepLabV3(store, backbone, numClasses).blocks);
  }

  protected describe(): string {
    return this.variant;
  }

  /** The classifier conv's keys: a checkpoint with other labels keeps the backbone and ASPP, not these. */
  get headKeys(): string[] {
    return [...this.store.params.keys()].filter((k) => k.startsWith(`${SEGMENTATION_HEAD_PREFIX}.classifier.`));
  }

  reinitHead(): void {
    for (const key of this.headKeys) this.store.reinit(key);
  }

  /** x [B, H, W, 3] RGB in [0, 1] → logits [B, ⌈H/16⌉, ⌈W/16⌉, classes], not upsampled. */
  forward(x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor4D {
    return this.run(x, opts) as tf.Tensor4D;
  }

  /** The class of every input pixel [B, H, W] (int32): logits upsampled to the input's size, then argmax. */
  predict(x: tf.Tensor4D): tf.Tensor3D {
    const [, h, w] = x.shape;
    return tf.tidy(() => tf.argMax(resizeBilinear(this.forward(x), [h, w]), 3) as tf.Tensor3D);
  }
}
