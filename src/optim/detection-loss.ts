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

/** Values per anchor in a target tensor (targetTensor) and in a packed row of targets (packTargets): the class,
 *  then the 4 regression targets. */
export const PACKED_PER_ANCHOR = 5;

/** Each image's targets side by side as one float tensor [B, A, 5]: per anchor its class (exact as a float), then
 *  its 4 regression targets; what multiboxLossOn reads. */
export function targetTensor(targets: AnchorTargets[]): tf.Tensor3D {
  const count = targets[0]?.labels.length ?? 0;
  const out = new Float32Array(targets.length * count * PACKED_PER_ANCHOR);
  targets.forEach((t, i) => {
    for (let a = 0; a < count; a++) {
      const at = (i * count + a) * PACKED_PER_ANCHOR;
      out[at] = t.labels[a];
      out.set(t.locations.subarray(4 * a, 4 * a + 4), at + 1);
    }
  });
  return tf.tensor3d(out, [targets.length, count, PACKED_PER_ANCHOR]);
}

/**
 * Which anchors of each image count in the classification loss: the positives (label > 0) and, of the others, the
 * min(ratio·positives, negatives) (ratio an integer) with the largest background loss (−log p(background)), ties
 * by anchor order; none of an image without positives. `background` and `labels` are [B, A]; returns a 0/1 float mask [B, A].
 * Tensor ops only, nothing read back: a synchronous read inside the step loses a WebGPU device.
 */
export function hardNegativeMask(background: tf.Tensor2D, labels: tf.Tensor2D, ratio = 3): tf.Tensor2D {
  const [b, count] = background.shape;
  return tf.tidy(() => {
    const positive = tf.greater(labels, 0);
    const positives = tf.sum(tf.cast(positive, 'int32'), 1, true);
    const int = (v: number) => tf.scalar(v, 'int32');
    const wanted = tf.minimum(tf.mul(positives, int(ratio)), tf.sub(int(count), positives));
    // A background loss is ≥ 0, so −1 ranks the positives after every negative. Not −∞: WebGPU's top-k pads its
    // sort with −∞, and a padding slot tied with a real value could be ranked among them.
    const ranked = tf.where(positive, tf.fill([b, count], -1), background);
    // Every anchor ranked: descending loss, ties by anchor order (top-k's order on every backend here: the cpu's and
    // wasm's sorts, WebGPU's bitonic sort of the whole row, WebGL's hand-off to the cpu's).
    const { values, indices } = tf.topk(ranked, count);
    // The last one kept is at rank wanted − 1: an anchor is kept when it ranks before it or is it.
    // Gathered from the flattened rows: tfjs-backend-wasm's gather with batchDims 1 reads wrong rows past the first.
    const last = tf.add(tf.maximum(tf.sub(wanted, int(1)), int(0)), tf.reshape(tf.range(0, b * count, count, 'int32'), [b, 1]));
    const threshold = tf.gather(tf.reshape(values, [b * count]), last);
    const lastAnchor = tf.gather(tf.reshape(indices, [b * count]), last);
    const anchor = tf.range(0, count, 1, 'int32');
    const upToLast = tf.logicalOr(tf.greater(ranked, threshold), tf.logicalAnd(tf.equal(ranked, threshold), tf.lessEqual(anchor, lastAnchor)));
    const negative = tf.logicalAnd(tf.logicalAnd(upToLast, tf.logicalNot(positive)), tf.greater(wanted, int(0)));
    return tf.cast(tf.logicalOr(positive, negative), 'float32') as tf.Tensor2D;
  });
}

/** Smooth-L1 (β = 1): ½d² below 1, |d| − ½ above, written as ½m² + |d| − m with m = min(|d|, 1) so that every
 *  op has a gradient (TF.js's `where` condition has none). */
function smoothL1(d: tf.Tensor): tf.Tensor {
  const a = tf.abs(d);
  const m = tf.minimum(a, 1);
  return tf.add(tf.mul(tf.square(m), 0.5), tf.sub(a, m));
}

/**
 * The multibox loss of a batch: `deltas` [B, A, 4] and `logits` [B, A, C] from the detector, `targets` [B, A, 5]
 * (targetTensor). The hard negatives are chosen from the logits' current values, outside the gradient, as
 * ml-cvnets does (its mining runs under torch.no_grad): the mask is a constant of the step.
 */
export function multiboxLossOn(deltas: tf.Tensor3D, logits: tf.Tensor3D, targets: tf.Tensor3D, negPosRatio = 3): tf.Scalar {
  const [b, count, classes] = logits.shape;
  if (targets.shape[0] !== b || targets.shape[1] !== count || targets.shape[2] !== PACKED_PER_ANCHOR) {
    throw new Error(`multiboxLoss: targets [${targets.shape}] for ${b} images of ${count} anchors`);
  }
  return tf.tidy(() => {
    const labels = tf.cast(tf.reshape(tf.slice(targets, [0, 0, 0], [-1, -1, 1]), [b, count]), 'int32') as tf.Tensor2D;
    const logProbs = tf.logSoftmax(tf.reshape(logits, [b * count, classes]));
    // The engine records no op run inside a custom gradient's forward, so the selection's ops (top-k, comparisons:
    // none has a gradient) stay off the tape; the background losses get a zero gradient through it.
    const select = tf.customGrad((background) => ({
      value: hardNegativeMask(background as tf.Tensor2D, labels, negPosRatio),
      gradFunc: () => tf.zerosLike(background as tf.Tensor),
    }));
    const chosen = tf.reshape(select(tf.reshape(tf.neg(tf.slice(logProbs, [0, 0], [-1, 1])), [b, count])), [b * count]);
    const flatLabels = tf.reshape(labels, [b * count]) as tf.Tensor1D;
    const nll = tf.neg(tf.sum(tf.mul(logProbs, tf.oneHot(flatLabels, classes)), 1));
    const classification = tf.sum(tf.mul(nll, chosen));
    const positive = tf.reshape(tf.cast(tf.greater(flatLabels, 0), 'float32'), [b * count, 1]);
    const locations = tf.reshape(tf.slice(targets, [0, 0, 1], [-1, -1, 4]), [b * count, 4]);
    const regression = tf.sum(tf.mul(smoothL1(tf.sub(tf.reshape(deltas, [b * count, 4]), locations)), positive));
    return tf.div(tf.add(classification, regression), tf.maximum(tf.sum(positive), 1)) as tf.Scalar;
  });
}

/** multiboxLossOn with the targets of each image as matchAnchors gives them. */
export function multiboxLoss(deltas: tf.Tensor3D, logits: tf.Tensor3D, targets: AnchorTargets[], negPosRatio = 3): tf.Scalar {
  const [b, count] = logits.shape;
  if (targets.length !== b || targets.some((t) => t.labels.length !== count)) throw new Error(`multiboxLoss: ${targets.length} targets for ${b} images of ${count} anchors`);
  return tf.tidy(() => multiboxLossOn(deltas, logits, targetTensor(targets), negPosRatio));
}

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
