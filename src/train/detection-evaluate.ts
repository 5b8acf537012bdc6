// Evaluating a detector on a prepared set of images and their boxes, as COCO evaluates (detection-metrics.ts): the
// network in inference mode on each image resized to the set's size; SSD's post-processing (softmax, decode, score
// threshold 0.01, per-class NMS at 0.5, 200 per class, the best 100 per image: detection-postprocess.ts); the boxes
// scaled back to the image's own pixels and clipped to it, and scored against the boxes as scanned (crowd regions
// included, as COCO handles them). Beside the scores: the multibox loss against the anchors matched as in training
// (crowd regions left out), the mean over the set's positive anchors, and of those the share whose class is right.
// And the images with the most misses and false positives at the score the window shows boxes from (MISS_SCORE).
// The network runs in this process or as a copy on another runtime (onnxruntime: train/dense-inference.ts), which
// answers asynchronously; the post-processing is this file's either way.
import * as tf from '@tensorflow/tfjs';
import { detectionEvalBatches, type DetectionSet } from '../data/detection-loader.ts';
import type { DetectionImage } from '../data/detection-scan.ts';
import type { DetectorOutput } from '../model/detection.ts';
import { postprocess, SSD_POSTPROCESS } from '../model/detection-postprocess.ts';
import { matchAnchors, multiboxLoss, type AnchorTargets } from '../optim/detection-loss.ts';
import { evaluateDetections, imageMisses, MISS_SCORE, mostMissed, type DetectedBox, type DetectionScores, type ImageDetections } from './detection-metrics.ts';
import type { TaskEvaluation } from './tasks/task.ts';

export interface DetectionEvaluation extends TaskEvaluation, Omit<DetectionScores, 'perClassAp' | 'precisionAt50'> {
  /** Of the anchors matched to a box, the share whose top class is the box's. */
  top1: number;
  top5: null;
  /** Class names (without the background), in label order. */
  classes: string[];
  /** AP (.50:.95) per class of `classes`; null where the class has no box in the set. */
  perClassAp: (number | null)[];
  /** Per class of `classes`: the interpolated precision at the 101 recall points 0:.01:1 at IoU .50 (null without boxes). */
  precisionAt50: (number[] | null)[];
  /** The score the misses are counted at. */
  missScore: number;
  /** The images with the most misses and false positives (at most MOST_MISSED), worst first; file is the image's path. */
  mostMissed: { file: string; missed: number; falsePositives: number; boxes: number }[];
  /** Images with at least one miss or false positive, of `count`. */
  imagesWithMisses: number;
}

/** How many of the images with the most misses an evaluation lists. */
export const MOST_MISSED = 12;

/** An image's boxes for matching: normalised corners and labels, crowd regions left out (they do not train). */
export function trainingBoxes(image: Pick<DetectionImage, 'boxes' | 'width' | 'height'>): { corners: Float32Array; labels: Int32Array } {
  const kept = image.boxes.filter((b) => !b.crowd);
  const corners = new Float32Array(kept.length * 4);
  kept.forEach(({ box: [x, y, w, h] }, i) => corners.set([x / image.width, y / image.height, (x + w) / image.width, (y + h) / image.height], 4 * i));
  return { corners, labels: Int32Array.from(kept, (b) => b.label) };
}

/** Normalised corners (x0, y0, x1, y1) → [x, y, w, h] in the pixels of a `width` × `height` image, clipped to it. */
function toPixels(b: Float32Array, i: number, width: number, height: number): [number, number, number, number] {
  const clip = (v: number, max: number) => Math.min(max, Math.max(0, v));
  const [x0, y0, x1, y1] = [clip(b[4 * i] * width, width), clip(b[4 * i + 1] * height, height), clip(b[4 * i + 2] * width, width), clip(b[4 * i + 3] * height, height)];
  return [x0, y0, x1 - x0, y1 - y0];
}

/** What computes a batch's raw outputs: the detector itself, or its copy on another runtime. */
export interface DetectorForward {
  numClasses: number;
  forward(x: tf.Tensor4D): DetectorOutput | Promise<DetectorOutput>;
}

export async function evaluateDetection(model: DetectorForward, set: DetectionSet, batchSize: number, classes: string[]): Promise<DetectionEvaluation> {
  if (set.images.length === 0) throw new Error('evaluation: no images to evaluate');
  if (model.numClasses !== classes.length + 1) throw new Error(`evaluation: a detector of ${model.numClasses - 1} classes for ${classes.length} class names`);
  const scored: ImageDetections[] = [];
  const files: string[] = [];
  let lossSum = 0;
  let positives = 0;
  let hits = 0;
  for await (const b of detectionEvalBatches(set, batchSize)) {
    const n = b.indices.length;
    const x = tf.tensor4d(b.x, [n, b.size, b.size, 3]);
    const out = await Promise.resolve(model.forward(x)).finally(() => { x.dispose(); b.release(); });
    try {
      const images = Array.from(b.indices, (i) => set.images[i]);
      const targets: AnchorTargets[] = images.map((img) => {
        const { corners, labels } = trainingBoxes(img);
        return matchAnchors(corners, labels, out.anchors);
      });
      const count = targets.reduce((k, t) => k + t.labels.reduce((m, l) => m + (l > 0 ? 1 : 0), 0), 0);
      const [loss, predicted] = tf.tidy(() => [multiboxLoss(out.boxDeltas, out.classLogits, targets), tf.argMax(out.classLogits, 2)]);
      lossSum += (await loss.data())[0] * count;
      positives += count;
      const top = (await predicted.data()) as Int32Array;
      tf.dispose([loss, predicted]);
      const anchors = out.anchors.length / 4;
      targets.forEach((t, j) => t.labels.forEach((l, a) => { if (l > 0 && top[j * anchors + a] === l) hits++; }));
      const [deltas, logits] = [(await out.boxDeltas.data()) as Float32Array, (await out.classLogits.data()) as Float32Array];
      const perImage = model.numClasses * anchors;
      images.forEach((img, j) => {
        const d = postprocess(logits.subarray(j * perImage, (j + 1) * perImage), deltas.subarray(j * anchors * 4, (j + 1) * anchors * 4), out.anchors, model.numClasses, SSD_POSTPROCESS);
        const detections: DetectedBox[] = Array.from(d.labels, (label, k) => ({ box: toPixels(d.boxes, k, img.width, img.height), label, score: d.scores[k] }));
        files.push(img.image);
        scored.push({ truth: img.boxes.map((g) => ({ box: g.box, label: g.label, crowd: g.crowd })), detections });
      });
    } finally {
      tf.dispose([out.boxDeltas, out.classLogits]);
    }
  }
  const scores = evaluateDetections(scored, model.numClasses);
  const misses = imageMisses(scored, model.numClasses, MISS_SCORE);
  return {
    ...scores, classes, count: set.images.length,
    loss: positives > 0 ? lossSum / positives : 0, top1: positives > 0 ? hits / positives : 0, top5: null,
    // Label 0 is the background, which has no box: the classes' own entries follow it.
    perClassAp: scores.perClassAp.slice(1), precisionAt50: scores.precisionAt50.slice(1),
    missScore: MISS_SCORE,
    mostMissed: mostMissed(misses, MOST_MISSED).map(({ index, ...m }) => ({ file: files[index], ...m })),
    imagesWithMisses: misses.filter((m) => m.missed + m.falsePositives > 0).length,
  };
}
