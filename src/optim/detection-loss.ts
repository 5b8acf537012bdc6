// SSD training targets and loss, as ml-cvnets v0.1 defines them (SSDMatcher, SSD's multibox loss):
// - every anchor takes the ground-truth box it overlaps most; each ground-truth box is also forced onto its best
//   anchor (a later box wins a shared anchor); an anchor whose best IoU is under the threshold is background (0);
// - the regression target is the box encoded on its anchor (centre offsets / 0.1, log size ratios / 0.2);
// - the loss is cross-entropy over the positives and the hardest negatives (3 per positive, per image, ranked by
//   their background loss) plus smooth-L1 on the positives' deltas, summed and divided by the positive count.
import * as tf from '@tensorflow/tfjs';
import { BOX_VARIANCE } from '../model/anchors.ts';

export interface AnchorTargets {
  /** [A·4] encoded regression targets (meaningful on positives only). */
  locations: Float32Array;
  /** [A] class per anchor, 0 = background. */
  labels: Int32Array;
}

/** ml-cvnets' box_iou: overlap / (area0 + area1 − overlap + 1e-5), corners, areas clamped at 0. */
function boxIou(b: ArrayLike<number>, i: number, a: Float32Array, j: number): number {
  const w = Math.max(0, Math.min(b[i + 2], a[j + 2]) - Math.max(b[i], a[j]));
  const h = Math.max(0, Math.min(b[i + 3], a[j + 3]) - Math.max(b[i + 1], a[j + 1]));
  const area = (x0: number, y0: number, x1: number, y1: number) => Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const overlap = w * h;
  return overlap / (area(b[i], b[i + 1], b[i + 2], b[i + 3]) + area(a[j], a[j + 1], a[j + 2], a[j + 3]) - overlap + 1e-5);
}

/**
 * Targets for one image: `boxes` [N·4] ground truth as normalised corners (x0, y0, x1, y1), `labels` [N] classes
 * (1…), `anchors` [A·4] centre-size.
 */
export function matchAnchors(boxes: ArrayLike<number>, labels: ArrayLike<number>, anchors: ArrayLike<number>, iouThreshold = 0.5): AnchorTargets {
  const count = anchors.length / 4;
  const n = labels.length;
  const out: AnchorTargets = { locations: new Float32Array(count * 4), labels: new Int32Array(count) };
  if (n === 0) return out;
  const corners = new Float32Array(count * 4);
  for (let a = 0; a < count; a++) {
    const [cx, cy, w, h] = [anchors[4 * a], anchors[4 * a + 1], anchors[4 * a + 2], anchors[4 * a + 3]];
    corners.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * a);
  }
  const bestTarget = new Int32Array(count);
  const bestIou = new Float32Array(count).fill(-1);
  const bestAnchor = new Int32Array(n);
  const bestAnchorIou = new Float32Array(n).fill(-1);
  for (let a = 0; a < count; a++) {
    for (let t = 0; t < n; t++) {
      const iou = boxIou(boxes, 4 * t, corners, 4 * a);
      // Strict comparisons keep the first maximum, as torch's max does on a CPU.
      if (iou > bestIou[a]) { bestIou[a] = iou; bestTarget[a] = t; }
      if (iou > bestAnchorIou[t]) { bestAnchorIou[t] = iou; bestAnchor[t] = a; }
    }
  }
  for (let t = 0; t < n; t++) { bestTarget[bestAnchor[t]] = t; bestIou[bestAnchor[t]] = 2; }
  for (let a = 0; a < count; a++) {
    const t = bestTarget[a];
    out.labels[a] = bestIou[a] < iouThreshold ? 0 : labels[t];
    const [x0, y0, x1, y1] = [boxes[4 * t], boxes[4 * t + 1], boxes[4 * t + 2], boxes[4 * t + 3]];
    const [acx, acy, aw, ah] = [anchors[4 * a], anchors[4 * a + 1], anchors[4 * a + 2], anchors[4 * a + 3]];
    out.locations[4 * a] = ((x0 + x1) / 2 - acx) / aw / BOX_VARIANCE.centre;
    out.locations[4 * a + 1] = ((y0 + y1) / 2 - acy) / ah / BOX_VARIANCE.centre;
    out.locations[4 * a + 2] = Math.log((x1 - x0) / aw) / BOX_VARIANCE.size;
    out.locations[4 * a + 3] = Math.log((y1 - y0) / ah) / BOX_VARIANCE.size;
  }
  return out;
}

/**
 * Which anchors of each image count in the classification loss: the positives and the `ratio`·positives negatives
 * with the largest background loss (−log p(background)). backgroundLoss and labels are [B·A]; returns a 0/1 mask.
 */
export function hardNegativeMask(backgroundLoss: ArrayLike<number>, labels: ArrayLike<number>, anchorsPerImage: number, ratio = 3): Float32Array {
  const mask = new Float32Array(labels.length);
  for (let start = 0; start < labels.length; start += anchorsPerImage) {
    const negatives: number[] = [];
    let positives = 0;
    for (let i = start; i < start + anchorsPerImage; i++) {
      if (labels[i] > 0) { mask[i] = 1; positives++; } else negatives.push(i);
    }
    // Descending loss; ties by anchor order (a stable sort), as ranking by sorted position does.
    negatives.sort((i, j) => backgroundLoss[j] - backgroundLoss[i] || i - j);
    for (let k = 0; k < Math.min(negatives.length, positives * ratio); k++) mask[negatives[k]] = 1;
  }
  return mask;
}

/** Smooth-L1 (β = 1): ½d² below 1, |d| − ½ above, written as ½m² + |d| − m with m = min(|d|, 1) so that every
 *  op has a gradient (TF.js's `where` condition has none). */
function smoothL1(d: tf.Tensor): tf.Tensor {
  const a = tf.abs(d);
  const m = tf.minimum(a, 1);
  return tf.add(tf.mul(tf.square(m), 0.5), tf.sub(a, m));
}

/**
 * The multibox loss of a batch: `deltas` [B, A, 4] and `logits` [B, A, C] from the detector, `targets` one per
 * image. The hard negatives are chosen from the logits' current values, outside the gradient, as ml-cvnets does.
 */
export function multiboxLoss(deltas: tf.Tensor3D, logits: tf.Tensor3D, targets: AnchorTargets[], negPosRatio = 3): tf.Scalar {
  const [b, count, classes] = logits.shape;
  if (targets.length !== b || targets.some((t) => t.labels.length !== count)) throw new Error(`multiboxLoss: ${targets.length} targets for ${b} images of ${count} anchors`);
  const labels = new Int32Array(b * count);
  const locations = new Float32Array(b * count * 4);
  targets.forEach((t, i) => { labels.set(t.labels, i * count); locations.set(t.locations, i * count * 4); });
  const background = tf.tidy(() => tf.neg(tf.slice(tf.logSoftmax(logits), [0, 0, 0], [-1, -1, 1])).dataSync());
  const chosen = hardNegativeMask(background, labels, count, negPosRatio);
  const positives = labels.reduce((n, l) => n + (l > 0 ? 1 : 0), 0);
  return tf.tidy(() => {
    const flatLabels = tf.tensor1d(labels, 'int32');
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.reshape(logits, [b * count, classes])), tf.oneHot(flatLabels, classes)), 1));
    const classification = tf.sum(tf.mul(nll, tf.tensor1d(chosen)));
    const positive = tf.reshape(tf.cast(tf.greater(flatLabels, 0), 'float32'), [b * count, 1]);
    const regression = tf.sum(tf.mul(smoothL1(tf.sub(tf.reshape(deltas, [b * count, 4]), tf.tensor2d(locations, [b * count, 4]))), positive));
    return tf.div(tf.add(classification, regression), Math.max(1, positives)) as tf.Scalar;
  });
}

/** Values per anchor in a packed row of targets: the class, then the 4 regression targets as float32 bits. */
export const PACKED_PER_ANCHOR = 5;

/**
 * One image's targets as one row of int32 labels, so that they travel in a batch's `labels` as a class per image
 * does: per anchor its class, then its regression targets' float32 bit patterns (exact, no rounding).
 */
export function packTargets(t: AnchorTargets): Int32Array {
  const count = t.labels.length;
  const out = new Int32Array(count * PACKED_PER_ANCHOR);
  const bits = new Float32Array(out.buffer);
  for (let a = 0; a < count; a++) {
    out[a * PACKED_PER_ANCHOR] = t.labels[a];
    for (let k = 0; k < 4; k++) bits[a * PACKED_PER_ANCHOR + 1 + k] = t.locations[4 * a + k];
  }
  return out;
}

/** The targets of `images` images packed in a row each (packTargets), back. */
export function unpackTargets(packed: Int32Array, images: number): AnchorTargets[] {
  const count = packed.length / images / PACKED_PER_ANCHOR;
  if (!Number.isInteger(count)) throw new Error(`detection targets: ${packed.length} values for ${images} images of ${PACKED_PER_ANCHOR} per anchor`);
  const bits = new Float32Array(packed.buffer, packed.byteOffset, packed.length);
  return Array.from({ length: images }, (_, i) => {
    const t: AnchorTargets = { locations: new Float32Array(count * 4), labels: new Int32Array(count) };
    for (let a = 0; a < count; a++) {
      const at = (i * count + a) * PACKED_PER_ANCHOR;
      t.labels[a] = packed[at];
      for (let k = 0; k < 4; k++) t.locations[4 * a + k] = bits[at + 1 + k];
    }
    return t;
  });
}
