// Evaluating a segmentation network on a prepared set of images and label maps: the logits (1/16 of the input)
// upsampled bilinearly to the label maps' size, the pixel cross-entropy over the labelled pixels (the mean over
// every labelled pixel of the set, as training's loss is per batch), and the argmax of every pixel accumulated
// into one confusion matrix for the whole set (segmentation-metrics.ts: mIoU, pixel and class accuracies). The
// network runs in inference mode (BatchNorm running statistics, no dropout).
import * as tf from '@tensorflow/tfjs';
import { maskEvalBatches, type MaskSet } from '../data/segmentation-loader.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { resizeBilinear } from '../model/unfold.ts';
import { pixelCrossEntropy } from '../optim/segmentation-loss.ts';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { PixelConfusion, type SegmentationScores } from './segmentation-metrics.ts';
import type { TaskEvaluation } from './tasks/task.ts';

export interface SegmentationEvaluation extends TaskEvaluation, SegmentationScores {
  /** The pixel accuracy: of labelled pixels, the share whose class is right. */
  top1: number;
  top5: null;
  classes: string[];
}

export async function evaluateSegmentation(model: Pick<SegmentationModel, 'forward'>, set: MaskSet, batchSize: number, classes: string[]): Promise<SegmentationEvaluation> {
  if (set.images.length === 0) throw new Error('evaluation: no images to evaluate');
  const confusion = new PixelConfusion(classes.length);
  let lossSum = 0;
  let labelled = 0;
  for await (const b of maskEvalBatches(set, batchSize)) {
    const n = b.indices.length;
    const [loss, predicted] = tf.tidy(() => {
      const logits = model.forward(tf.tensor4d(b.x, [n, b.size, b.size, 3]), { training: false });
      const y = tf.tensor3d(b.labels, [n, b.size, b.size], 'int32');
      return [pixelCrossEntropy(logits, y), tf.argMax(resizeBilinear(logits, [b.size, b.size]), 3)];
    });
    const count = b.labels.reduce((k, v) => (v === IGNORE_INDEX ? k : k + 1), 0);
    lossSum += (await loss.data())[0] * count;
    labelled += count;
    confusion.add((await predicted.data()) as Int32Array, b.labels);
    tf.dispose([loss, predicted]);
    b.release();
  }
  const scores = confusion.scores();
  return { ...scores, classes, count: set.images.length, loss: labelled > 0 ? lossSum / labelled : 0, top1: scores.pixelAccuracy, top5: null };
}
