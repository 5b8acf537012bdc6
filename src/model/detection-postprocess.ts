// SSD's post-processing as ml-cvnets v0.1 does it (SingleShotDetector.predict): softmax over the classes; for
// each class but the background, in increasing order, the anchors whose probability is above the threshold
// (strictly), their boxes decoded, NMS at the IoU threshold in descending score order (torchvision's nms), the
// first `perClass` kept; the classes' lists concatenated. For evaluation, COCO-style, the best `perImage` of those.
import { decodeBox } from './anchors.ts';

export interface PostprocessOptions {
  scoreThreshold: number;
  nmsIou: number;
  /** Kept per class after NMS (ml-cvnets: 200). */
  perClass: number;
  /** Kept per image over all classes, best first (COCO evaluation: 100); all when omitted. */
  perImage?: number;
}

/** ml-cvnets' settings: the evaluation threshold 0.01, NMS at 0.5, 200 per class, COCO's 100 per image. */
export const SSD_POSTPROCESS: PostprocessOptions = { scoreThreshold: 0.01, nmsIou: 0.5, perClass: 200, perImage: 100 };

export interface Detections {
  /** [N·4]: (x0, y0, x1, y1), normalised, not clipped. */
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
}

/** IoU of corner boxes i and j of `b` (areas as torchvision computes them: (x1 − x0)·(y1 − y0)). */
function iou(b: Float32Array, i: number, j: number): number {
  const [ax0, ay0, ax1, ay1] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
  const [bx0, by0, bx1, by1] = [b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]];
  const w = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const h = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = w * h;
  return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter);
}

/**
 * One image: `logits` [A·C] (class 0 the background), `deltas` [A·4], `anchors` [A·4] → its detections, per class
 * in increasing label order and within a class by descending score.
 */
export function postprocess(logits: ArrayLike<number>, deltas: ArrayLike<number>, anchors: ArrayLike<number>, classes: number, opts: PostprocessOptions): Detections {
  const count = anchors.length / 4;
  if (logits.length !== count * classes || deltas.length !== count * 4) {
    throw new Error(`postprocess: ${count} anchors, but ${logits.length / classes} rows of logits and ${deltas.length / 4} of deltas`);
  }
  const probs = new Float32Array(count * classes);
  for (let a = 0; a < count; a++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[a * classes + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += (probs[a * classes + c] = Math.exp(logits[a * classes + c] - max));
    for (let c = 0; c < classes; c++) probs[a * classes + c] /= sum;
  }
  const boxes: number[] = [];
  const scores: number[] = [];
  const labels: number[] = [];
  const decoded = new Float32Array(4);
  for (let c = 1; c < classes; c++) {
    const candidates: number[] = [];
    for (let a = 0; a < count; a++) if (probs[a * classes + c] > opts.scoreThreshold) candidates.push(a);
    if (candidates.length === 0) continue;
    candidates.sort((i, j) => probs[j * classes + c] - probs[i * classes + c] || i - j);
    const corners = new Float32Array(candidates.length * 4);
    candidates.forEach((a, k) => { decodeBox(deltas, a * 4, anchors, a * 4, decoded, 0); corners.set(decoded, k * 4); });
    const kept: number[] = [];
    for (let k = 0; k < candidates.length && kept.length < opts.perClass; k++) {
      if (kept.every((m) => iou(corners, m, k) <= opts.nmsIou)) kept.push(k);
    }
    for (const k of kept) {
      boxes.push(...corners.subarray(4 * k, 4 * k + 4));
      scores.push(probs[candidates[k] * classes + c]);
      labels.push(c);
    }
  }
  let order = scores.map((_, i) => i);
  if (opts.perImage !== undefined && order.length > opts.perImage) {
    // The best per image, then back in the per-class order the rest of the pipeline expects.
    order = order.sort((i, j) => scores[j] - scores[i] || i - j).slice(0, opts.perImage).sort((i, j) => i - j);
  }
  return {
    boxes: Float32Array.from(order.flatMap((i) => boxes.slice(4 * i, 4 * i + 4))),
    scores: Float32Array.from(order.map((i) => scores[i])),
    labels: Int32Array.from(order.map((i) => labels[i])),
  };
}
