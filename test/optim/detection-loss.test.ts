// SSD's matcher and multibox loss on cases worked out by hand, and a detector training step through them.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { hardNegativeMask, matchAnchors, multiboxLoss } from '../../src/optim/detection-loss.ts';
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

describe('hardNegativeMask', () => {
  it('keeps the positives and 3 negatives per positive with the largest background loss, per image', () => {
    // Two images of 6 anchors: image 0 has one positive (anchor 1), image 1 none.
    const loss = [0.1, 9, 0.5, 0.3, 0.9, 0.2, /* image 1 */ 5, 5, 5, 5, 5, 5];
    const labels = [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(Array.from(hardNegativeMask(loss, labels, 6, 3))).toEqual([0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
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
