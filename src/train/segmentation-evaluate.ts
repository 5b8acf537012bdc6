// Evaluating a segmentation network on a prepared set of images and label maps: the logits (1/16 of the input)
// upsampled bilinearly to the label maps' size, the pixel cross-entropy over the labelled pixels (the mean over
// every labelled pixel of the set, as training's loss is per batch), and the argmax of every pixel accumulated
// into one confusion matrix for the whole set (segmentation-metrics.ts: mIoU, pixel and class accuracies). The
// network runs in inference mode (BatchNorm running statistics, no dropout), in this process or as a copy on
// another runtime (onnxruntime: train/dense-inference.ts), which answers asynchronously.
import * as tf from '@tensorflow/tfjs';
import { maskEvalBatches, type MaskSet } from '../data/segmentation-loader.ts';
import { resizeBilinear } from '../model/unfold.ts';
import { pixelCrossEntropy } from '../optim/segmentation-loss.ts';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { ImageScores, PixelConfusion, type SegmentationScores } from './segmentation-metrics.ts';
import type { TaskEvaluation } from './tasks/task.ts';

export interface SegmentationEvaluation extends TaskEvaluation, SegmentationScores {
  /** The pixel accuracy: of labelled pixels, the share whose class is right. */
  top1: number;
  top5: null;
  classes: string[];
  /** The images segmented worst, lowest mIoU first (each scored on its own; the scores above are the set's). */
  worstImages: WorstImage[];
}

/** How many of the worst images an evaluation names. */
export const WORST_IMAGES = 12;

export interface WorstImage {
  file: string;
  mask: string;
  miou: number;
  pixelAccuracy: number;
}

/** What computes the logits [B, h, w, classes] of a batch: the network itself, or its copy on another runtime. */
export interface SegmentationForward {
  forward(x: tf.Tensor4D, opts: { training: false }): tf.Tensor4D | Promise<tf.Tensor4D>;
}

export async function evaluateSegmentation(model: SegmentationForward, set: MaskSet, batchSize: number, classes: string[]): Promise<SegmentationEvaluation> {
  if (set.images.length === 0) throw new Error('evaluation: no images to evaluate');
  const confusion = new PixelConfusion(classes.length);
  const byImage = new ImageScores(classes.length);
  let lossSum = 0;
  let labelled = 0;
  for await (const b of maskEvalBatches(set, batchSize)) {
    const n = b.indices.length;
    const x = tf.tensor4d(b.x, [n, b.size, b.size, 3]);
    const logits = await Promise.resolve(model.forward(x, { training: false })).finally(() => x.dispose());
    const [loss, predicted] = tf.tidy(() => {
      const y = tf.tensor3d(b.labels, [n, b.size, b.size], 'int32');
      return [pixelCrossEntropy(logits, y), tf.argMax(resizeBilinear(logits, [b.size, b.size]), 3)];
    });
    logits.dispose();
    const count = b.labels.reduce((k, v) => (v === IGNORE_INDEX ? k : k + 1), 0);
    lossSum += (await loss.data())[0] * count;
    labelled += count;
    const argmax = (await predicted.data()) as Int32Array;
    confusion.add(argmax, b.labels);
    byImage.add(b.indices, argmax, b.labels);
    tf.dispose([loss, predicted]);
    b.release();
  }
  const scores = confusion.scores();
  const worstImages = byImage.worst(WORST_IMAGES).map((w) => ({ file: set.paths[w.index], mask: set.masks[w.index], miou: w.miou, pixelAccuracy: w.pixelAccuracy }));
  return { ...scores, classes, count: set.images.length, loss: labelled > 0 ? lossSum / labelled : 0, top1: scores.pixelAccuracy, top5: null, worstImages };
}
