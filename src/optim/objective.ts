// What a training step minimises and counts, per task: the loss of the network's output against the labels,
// and the hits the step reports (images whose top-1 class is right, labelled pixels whose class is right, or
// anchors matched to a box whose class is right).
// The trainer (trainer.ts) is the same for every task; only this differs.
import * as tf from '@tensorflow/tfjs';
import { smoothedCrossEntropy } from './loss.ts';
import { pixelCrossEntropy } from './segmentation-loss.ts';
import { multiboxLossOn, PACKED_PER_ANCHOR, targetTensor, unpackTargets } from './detection-loss.ts';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { resizeBilinear } from '../model/unfold.ts';

export interface Objective {
  /**
   * The labels of `images` images as a tensor: `labels` holds `labels.length / images` values per image
   * (one class index, or a label map of `height` × `width` pixels).
   */
  labelTensor(labels: Int32Array, images: number, size: number): tf.Tensor;
  /** The loss to minimise (a scalar) of the network's output against labelTensor's result. */
  loss(output: tf.Tensor, labels: tf.Tensor, labelSmoothing: number): tf.Scalar;
  /** What the step counts as right (a scalar): images, or labelled pixels. */
  hits(output: tf.Tensor, labels: tf.Tensor): tf.Scalar;
  /** What `hits` counts out of (a scalar): images, or labelled pixels. */
  counted(labels: tf.Tensor): tf.Scalar;
}

/** One class per image: label-smoothed cross-entropy of the logits [B, C]; hits are top-1 images. */
export const CLASSIFICATION_OBJECTIVE: Objective = {
  labelTensor: (labels) => tf.tensor1d(labels, 'int32'),
  loss: (logits, y, smoothing) => smoothedCrossEntropy(logits as tf.Tensor2D, y as tf.Tensor1D, smoothing),
  hits: (logits, y) => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')),
  counted: (y) => tf.scalar(y.shape[0]),
};

/**
 * One class per pixel (IGNORE_INDEX: not labelled): pixel cross-entropy of the logits [B, h, w, C] upsampled to
 * the label maps [B, H, W] (segmentation-loss.ts; label smoothing does not apply). Hits are labelled pixels whose
 * upsampled argmax is their class.
 */
export const PIXEL_OBJECTIVE: Objective = {
  labelTensor: (labels, images, size) => {
    if (labels.length !== images * size * size) throw new Error(`training step: ${labels.length} pixel labels for ${images} label maps of ${size}×${size}`);
    return tf.tensor3d(labels, [images, size, size], 'int32');
  },
  loss: (logits, y) => pixelCrossEntropy(logits as tf.Tensor4D, y as tf.Tensor3D),
  hits: (logits, y) => tf.tidy(() => {
    const [, h, w] = y.shape;
    const predicted = tf.argMax(resizeBilinear(logits as tf.Tensor4D, [h, w]), 3);
    return tf.sum(tf.cast(tf.logicalAnd(tf.equal(predicted, y), tf.notEqual(y, IGNORE_INDEX)), 'float32'));
  }),
  counted: (y) => tf.tidy(() => tf.sum(tf.cast(tf.notEqual(y, IGNORE_INDEX), 'float32'))),
};

/** The class of every anchor [B, A] from a target tensor [B, A, 5] (detection-loss.ts targetTensor). */
const anchorClasses = (y: tf.Tensor) => tf.cast(tf.reshape(tf.slice(y, [0, 0, 0], [-1, -1, 1]), y.shape.slice(0, 2)), 'int32');

/**
 * Boxes (SSD): the output is [B, A, 4 + C] (each anchor's 4 box deltas, then its class logits, background first),
 * the labels each image's anchor targets packed in a row (packTargets: matched to the anchors of the batch's size
 * before the step). The loss is the multibox loss (cross-entropy on the positives and 3 hard negatives per
 * positive, smooth-L1 on the positives' deltas, over the positive count). Hits are positive anchors whose top class
 * is their box's; counted are the positive anchors, at least 1 so that a batch of negatives alone counts 0 of 1.
 */
export const BOX_OBJECTIVE: Objective = {
  labelTensor: (labels, images) => {
    const anchors = labels.length / images / PACKED_PER_ANCHOR;
    if (!Number.isInteger(anchors)) throw new Error(`training step: ${labels.length} packed anchor targets for ${images} images`);
    // Unpacked here, from the batch's own int32 row: the loss reads no tensor back inside the step.
    return targetTensor(unpackTargets(labels, images));
  },
  loss: (output, y) => {
    const [, anchors, width] = output.shape;
    if (y.shape[1] !== anchors) throw new Error(`training step: targets for ${y.shape[1]} anchors, but the detector predicted ${anchors}`);
    const deltas = tf.slice(output, [0, 0, 0], [-1, -1, 4]) as tf.Tensor3D;
    const logits = tf.slice(output, [0, 0, 4], [-1, -1, width - 4]) as tf.Tensor3D;
    return multiboxLossOn(deltas, logits, y as tf.Tensor3D);
  },
  hits: (output, y) => tf.tidy(() => {
    const classes = anchorClasses(y);
    const predicted = tf.argMax(tf.slice(output, [0, 0, 4], [-1, -1, -1]), 2);
    return tf.sum(tf.cast(tf.logicalAnd(tf.equal(predicted, classes), tf.greater(classes, 0)), 'float32'));
  }),
  counted: (y) => tf.tidy(() => tf.maximum(tf.sum(tf.cast(tf.greater(anchorClasses(y), 0), 'float32')), 1)),
};
