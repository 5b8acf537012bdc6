// Pixel cross-entropy for semantic segmentation, as transformers' MobileViTForSemanticSegmentation computes it:
// the logits (1/16 of the input) are upsampled bilinearly (align_corners false) to the label map's size, then
// CrossEntropyLoss(ignore_index=255): the mean over the labelled pixels only.
import * as tf from '@tensorflow/tfjs';
import { resizeBilinear } from '../model/unfold.ts';
import { fusedSoftmaxXentRuns } from '../util/kernel-traits.ts';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { fusedSoftmaxCrossEntropy } from './fused-cross-entropy.ts';

/** logits [B, h, w, C] and labels [B, H, W] (int32 class indices or IGNORE_INDEX) → the mean loss over labelled pixels. */
export function pixelCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  const [b, , , classes] = logits.shape;
  const [lb, h, w] = labels.shape;
  if (lb !== b) throw new Error(`pixelCrossEntropy: ${b} logit maps but ${lb} label maps`);
  return tf.tidy(() => {
    const up = logits.shape[1] === h && logits.shape[2] === w ? logits : resizeBilinear(logits, [h, w]);
    const rows = tf.reshape(up, [b * h * w, classes]) as tf.Tensor2D;
    const flat = tf.reshape(tf.cast(labels, 'int32'), [b * h * w]) as tf.Tensor1D;
    // One kernel for the whole loss where the backend has it (the composed one below passes over the logits about
    // a dozen times each way, two of them exps: 5 % of a DeepLabv3 step at 256 px).
    if (fusedSoftmaxXentRuns(tf.getBackend())) return fusedSoftmaxCrossEntropy(rows, flat, IGNORE_INDEX);
    const logp = tf.logSoftmax(rows);
    const labelled = tf.cast(tf.notEqual(flat, IGNORE_INDEX), 'float32');
    // An ignored pixel's one-hot row is all zeros (oneHot of an index ≥ C), so it adds nothing to the sum.
    const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(flat, classes)), 1));
    const count = tf.maximum(tf.sum(labelled), 1);
    return tf.div(tf.sum(tf.mul(nll, labelled)), count) as tf.Scalar;
  });
}
