// SSD's matcher and multibox loss on cases worked out by hand, and a detector training step through them.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { hardNegativeMask, matchAnchors, multiboxLoss, multiboxLossOn, targetTensor, type AnchorTargets } from '../../src/optim/detection-loss.ts';
import { expectEveryGradientAfterOneStep } from '../helpers/gradients.ts';

describe('matchAnchors', () => {
  // Anchors (cx, cy, w, h): 0 sits on box A, 1 half-overlaps A, 2 is far from everything, 3 overlaps B a little.
  const anchors = [0.25, 0.25, 0.2, 0.2, 0.3, 0.25, 0.2, 0.2, 0.8, 0.2, 0.1, 0.1, 0.7, 0.75, 0.2, 0.2];
  const boxes = [0.15, 0.15, 0.35, 0.35, /* B */ 0.5, 0.6, 0.7, 0.9];

  it('gives each anchor its best box above the threshold, forces each box onto its best anchor, and encodes the target', () => {
    const t = matchAnchors(boxes, [3, 7], anchors, 0.5);
    // Anchor 0 = box A exactly (IoU ≈ 1); anchor 1 overlaps A by 0.15×0.2 → IoU 0.6 → A; anchor 2 nothing → 0;
    // anchor 3's IoU with B is 0.04/(0.04+0.06−0.04)... below 0.5, but it is B's best anchor, so it is forced to B.
    expect(Array.from(t.labels)).toEqual([3, 3, 0, 7]);
    // Anchor 0 on box A: zero offsets, log(1) sizes.
    for (const v of t.locations.subarray(0, 4)) expect(v).toBeCloseTo(0, 5);
    // Anchor 1 on A: (0.25 − 0.3) / 0.2 / 0.1 = −2.5; sizes equal.
    expect(t.locations[4]).toBeCloseTo(-2.5, 5);
    // Anchor 3 on B (centre 0.6, 0.75; size 0.2 × 0.3): dx = (0.6 − 0.7)/0.2/0.1 = −5, dh = log(0.3/0.2)/0.2.
    expect(t.locations[12]).toBeCloseTo(-5, 5);
    expect(t.locations[15]).toBeCloseTo(Math.log(1.5) / 0.2, 5);
  });

  it('makes every anchor background for an image without boxes', () => {
    const t = matchAnchors([], [], anchors);
    expect(Array.from(t.labels)).toEqual([0, 0, 0, 0]);
  });
});

/**
 * The selection as the studio made it before it ran on tensors, read back in JavaScript: per image the positives,
 * and the ratio·positives negatives of largest loss (descending, ties by anchor order), as many as there are.
 */
function selectedInJs(backgroundLoss: ArrayLike<number>, labels: ArrayLike<number>, anchorsPerImage: number, ratio = 3): number[] {
  const mask = new Array<number>(labels.length).fill(0);
  for (let start = 0; start < labels.length; start += anchorsPerImage) {
    const negatives: number[] = [];
    let positives = 0;
    for (let i = start; i < start + anchorsPerImage; i++) {
      if (labels[i] > 0) { mask[i] = 1; positives++; } else negatives.push(i);
    }
    negatives.sort((i, j) => backgroundLoss[j] - backgroundLoss[i] || i - j);
    for (let k = 0; k < Math.min(negatives.length, positives * ratio); k++) mask[negatives[k]] = 1;
  }
  return mask;
}

/**
 * Four images of 40 anchors, 4 classes, logits from the seed: image 0 without positives; image 1 with 3 (9 hard
 * negatives of 37); image 2 with 15 (45 wanted, 25 exist: all are taken); image 3 with 2 positives and its negatives
 * in tied groups of identical logits, so that the 6 kept cut through a group of 10 equal losses.
 */
function miningCase(seed: number): { logits: tf.Tensor3D; deltas: tf.Tensor3D; targets: AnchorTargets[] } {
  const [b, count, classes] = [4, 40, 4];
  const values = tf.randomNormal([b, count, classes], 0, 2, 'float32', seed).arraySync() as number[][][];
  const loud = [-3, 1, 0.5, 0.2];
  for (let a = 2; a < count; a++) values[3][a] = a < 12 ? loud : values[3][2 + (a % 5)];
  const positivesOf = [[], [4, 17, 33], Array.from({ length: 15 }, (_, i) => 2 * i + 1), [0, 1]];
  const targets = positivesOf.map((positives, i) => {
    const labels = new Int32Array(count);
    for (const a of positives) labels[a] = 1 + ((a + i) % (classes - 1));
    return { labels, locations: Float32Array.from({ length: count * 4 }, (_, k) => Math.cos(k + i)) };
  });
  return { logits: tf.tensor3d(values), deltas: tf.randomNormal([b, count, 4], 0, 1, 'float32', seed + 1) as tf.Tensor3D, targets };
}

describe('hardNegativeMask', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it('keeps the positives and 3 negatives per positive with the largest background loss, per image', async () => {
    await tf.setBackend('cpu');
    // Two images of 6 anchors: image 0 has one positive (anchor 1), image 1 none.
    const loss = tf.tensor2d([0.1, 9, 0.5, 0.3, 0.9, 0.2, /* image 1 */ 5, 5, 5, 5, 5, 5], [2, 6]);
    const labels = tf.tensor2d([0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 6], 'int32');
    const mask = hardNegativeMask(loss, labels, 3);
    expect(Array.from(mask.dataSync())).toEqual([0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([loss, labels, mask]);
  });

  it.each(['cpu', 'wasm'])('on %s, picks what the selection in JavaScript picked, with the same loss and gradients within 1e-6', async (backend) => {
    await initBackend('wasm');
    await tf.setBackend(backend);
    const { logits, deltas, targets } = miningCase(5);
    const [b, count] = logits.shape;
    const labels = tf.tensor2d(targets.flatMap((t) => Array.from(t.labels)), [b, count], 'int32');
    const background = tf.tidy(() => tf.neg(tf.reshape(tf.slice(tf.logSoftmax(logits), [0, 0, 0], [-1, -1, 1]), [b, count])) as tf.Tensor2D);
    const expected = selectedInJs(background.dataSync(), labels.dataSync(), count);
    // The case cuts through ties: image 3 keeps 6 of its 10 equal losses, and image 2 all 25 of its negatives.
    expect(new Set(background.dataSync().slice(3 * count + 2, 3 * count + 12)).size).toBe(1);
    expect(expected.slice(3 * count, 4 * count).reduce((n, m) => n + m, 0)).toBe(2 + 6);
    expect(expected.slice(2 * count, 3 * count).every((m) => m === 1)).toBe(true);
    const before = tf.memory().numTensors;
    const mask = hardNegativeMask(background, labels);
    expect(Array.from(mask.dataSync())).toEqual(expected);
    mask.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // The loss with the selection as a constant (what the JavaScript mask was) against the loss mining on tensors.
    const constant = tf.tensor1d(expected);
    const targetsT = targetTensor(targets);
    const reference = (d: tf.Tensor, l: tf.Tensor) => {
      const flat = tf.reshape(labels, [b * count]) as tf.Tensor1D;
      const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.reshape(l, [b * count, 4])), tf.oneHot(flat, 4)), 1));
      const positive = tf.reshape(tf.cast(tf.greater(flat, 0), 'float32'), [b * count, 1]);
      const diff = tf.abs(tf.sub(tf.reshape(d, [b * count, 4]), tf.reshape(tf.slice(targetsT, [0, 0, 1], [-1, -1, 4]), [b * count, 4])));
      const m = tf.minimum(diff, 1);
      const l1 = tf.add(tf.mul(tf.square(m), 0.5), tf.sub(diff, m));
      return tf.div(tf.add(tf.sum(tf.mul(nll, constant)), tf.sum(tf.mul(l1, positive))), tf.maximum(tf.sum(positive), 1)) as tf.Scalar;
    };
    const mined = (d: tf.Tensor, l: tf.Tensor) => multiboxLossOn(d as tf.Tensor3D, l as tf.Tensor3D, targetsT);
    const [want, got] = [tf.valueAndGrads(reference)([deltas, logits]), tf.valueAndGrads(mined)([deltas, logits])];
    expect(Math.abs(got.value.dataSync()[0] - want.value.dataSync()[0])).toBeLessThan(1e-6);
    for (const i of [0, 1]) {
      const [g, w] = [got.grads[i].dataSync(), want.grads[i].dataSync()];
      expect(Math.max(...g.map((v, k) => Math.abs(v - w[k])))).toBeLessThan(1e-6);
    }
    tf.dispose([logits, deltas, labels, background, constant, targetsT, want.value, got.value, ...want.grads, ...got.grads]);
  });
});

describe('multiboxLoss', () => {
  afterAll(async () => { await tf.setBackend('cpu'); });

  it('is (cross-entropy over positives and hard negatives + smooth-L1 on positives) / positives', async () => {
    await tf.setBackend('cpu');
    const logits = tf.tensor3d([[[2, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]]]);
    const deltas = tf.tensor3d([[[0, 0, 0, 0], [0.5, -2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]);
    const target = { labels: Int32Array.from([0, 1, 0, 0]), locations: Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0]) };
    const loss = multiboxLoss(deltas, logits, [target], 1).dataSync()[0];
    const lse = (z: number[]) => Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
    // Positive anchor 1: −log p(1). One hard negative: the largest −log p(0) among anchors 0, 2, 3 is anchor 3's (log 3).
    const ce = (lse([0, 1, 0]) - 1) + lse([0, 0, 0]);
    // Smooth-L1 of (0.5, −2, 0, −0.25): 0.125 + 1.5 + 0 + 0.03125.
    const l1 = 0.125 + 1.5 + 0.03125;
    expect(loss).toBeCloseTo(ce + l1, 5);
    tf.dispose([logits, deltas]);
  });

  it('trains SSDLite-MobileViT-XXS on wasm: after one step every parameter gets a finite gradient, none all-zero', async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 4, 3);
    const x = tf.randomUniform([2, 96, 96, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const { anchors } = tf.tidy(() => { const o = model.forward(x); tf.dispose([o.boxDeltas, o.classLogits]); return { anchors: o.anchors }; });
    // Boxes of every size, so that every level has positives (a level none of whose anchors is a positive or a
    // hard negative gets no gradient at all): the near-full box lands on the global level.
    const targets = [
      matchAnchors([0.1, 0.1, 0.5, 0.6, 0.55, 0.5, 0.95, 0.9, 0.02, 0.02, 0.98, 0.98], [1, 3, 2], anchors),
      matchAnchors([0.3, 0.2, 0.7, 0.8, 0.05, 0.05, 0.2, 0.15], [2, 1], anchors),
    ];
    // An extra layer's depthwise BatchNorm bias feeds a 1×1 conv and then another training-mode BatchNorm, which
    // removes any per-channel shift: its gradient is zero by construction (up to float noise on big maps).
    expectEveryGradientAfterOneStep(model.trainableVariables(), () => {
      const o = model.forward(x, { training: true, nextSeed: () => 1 });
      return multiboxLoss(o.boxDeltas, o.classLogits, targets);
    }, /^extra_layers\.os_\d+\.dw_conv\.block\.norm\.bias$/);
    x.dispose();
    model.dispose();
  });
});
