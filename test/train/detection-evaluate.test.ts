// Evaluating a detector (src/train/detection-evaluate.ts) with a stand-in network whose outputs are chosen by hand:
// a detection exactly on the box scores AP 1 for its class, in the image's own pixels (the set is resized); a
// detection of the wrong class scores 0 for both; a class without boxes has no AP (null); crowd regions do not train.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { BufferPool } from '../../src/data/buffer-pool.ts';
import type { DetectionSet } from '../../src/data/detection-loader.ts';
import type { DetectionImage } from '../../src/data/detection-scan.ts';
import { makeAnchors } from '../../src/model/anchors.ts';
import { evaluateDetection, trainingBoxes } from '../../src/train/detection-evaluate.ts';

beforeAll(async () => { await initBackend('wasm'); });

// The anchors of a 64 px input (maps 4, 2, 1, 1, 1, 1); the box of anchor K, in the pixels of a 200 × 100 image.
const anchors = makeAnchors([[4, 4], [2, 2], [1, 1], [1, 1], [1, 1], [1, 1]]);
const A = anchors.length / 4;
const K = 100; // a level-1 anchor, inside the image (not clamped)
const [cx, cy, w, h] = anchors.subarray(4 * K, 4 * K + 4);
const W = 200, H = 100;
const onAnchor: [number, number, number, number] = [(cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H];

/** A stand-in detector of 3 classes (background, a, b): zero deltas; every anchor background but K, which says `label`. */
function detector(label: number) {
  return {
    numClasses: 3,
    forward: (x: tf.Tensor4D) => {
      const n = x.shape[0];
      const logits = new Float32Array(n * A * 3);
      for (let a = 0; a < n * A; a++) logits[3 * a] = 8;
      for (let i = 0; i < n; i++) logits[(i * A + K) * 3 + label] = 16;
      return { boxDeltas: tf.zeros([n, A, 4]) as tf.Tensor3D, classLogits: tf.tensor3d(logits, [n, A, 3]), anchors };
    },
  };
}

function set(boxes: DetectionImage['boxes']): DetectionSet {
  return { size: 64, pixels: [new Uint8Array(64 * 64 * 3)], images: [{ image: 'x.png', width: W, height: H, boxes }], buffers: new BufferPool() };
}

describe('evaluateDetection', () => {
  it('scores a detection exactly on its box AP 1, in the image\'s own pixels; a class without boxes has no AP', async () => {
    const before = tf.memory().numTensors;
    const e = await evaluateDetection(detector(1), set([{ box: onAnchor, label: 1, crowd: false }]), 4, ['a', 'b']);
    expect(tf.memory().numTensors).toBe(before);
    expect(e).toMatchObject({ count: 1, top5: null, classes: ['a', 'b'] });
    expect(e.map).toBeCloseTo(1, 9);
    expect(e.ap50).toBeCloseTo(1, 9);
    expect(e.ap75).toBeCloseTo(1, 9);
    expect(e.perClassAp[0]).toBeCloseTo(1, 9);
    expect(e.perClassAp[1]).toBeNull();
    expect(e.precisionAt50[1]).toBeNull();
    // 70 × 40 px is medium (32² to 96²): no small or large box in the set.
    expect([e.apSmall, e.apLarge]).toEqual([null, null]);
    expect(e.apMedium).toBeCloseTo(1, 9);
    // Anchor K is positive and says its class; any other anchor matched to the box says background.
    expect(e.top1).toBeGreaterThan(0);
    expect(e.loss).toBeGreaterThan(0);
    expect([e.mostMissed, e.imagesWithMisses]).toEqual([[], 0]); // nothing missed, nothing false
  });

  it('scores a detection of the wrong class 0 for the box\'s class, and the other class has no AP', async () => {
    const e = await evaluateDetection(detector(2), set([{ box: onAnchor, label: 1, crowd: false }]), 4, ['a', 'b']);
    expect(e.map).toBe(0);
    expect(e.perClassAp).toEqual([0, null]);
    expect(e.top1).toBe(0);
    // The image missed its box and shows a false one, at the score the window shows boxes from.
    expect(e.mostMissed).toEqual([{ file: 'x.png', missed: 1, falsePositives: 1, boxes: 1 }]);
    expect(e.imagesWithMisses).toBe(1);
  });

  it('refuses a detector of another class count', async () => {
    await expect(evaluateDetection(detector(1), set([]), 4, ['a'])).rejects.toThrow(/a detector of 2 classes for 1 class names/);
  });
});

describe('trainingBoxes', () => {
  it('gives normalised corners and labels, crowd regions left out', () => {
    const t = trainingBoxes({ width: 200, height: 100, boxes: [{ box: [20, 10, 100, 50], label: 2, crowd: false }, { box: [0, 0, 200, 100], label: 1, crowd: true }] });
    expect(t.corners).toEqual(Float32Array.from([0.1, 0.1, 0.6, 0.6]));
    expect(Array.from(t.labels)).toEqual([2]);
  });
});
