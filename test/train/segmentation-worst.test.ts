// The images a segmentation network does worst, on a case worked out by hand: each image scored on its own (its
// mIoU over the classes in its labels or its prediction, ignore pixels excluded), lowest first, while the set's
// scores stay accumulated over every pixel (not a mean of the images').
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { BufferPool } from '../../src/data/buffer-pool.ts';
import type { MaskSet } from '../../src/data/segmentation-loader.ts';
import { evaluateSegmentation } from '../../src/train/segmentation-evaluate.ts';
import { ImageScores } from '../../src/train/segmentation-metrics.ts';

const I = 255; // ignore
const CLASSES = ['background', 'leaf', 'stem'];

/**
 * Four 2 × 2 images, their labels and what the network predicts:
 * a: labels 0 0 1 1, predicted 0 0 1 1 → mIoU 1, pixel accuracy 1.
 * b: labels 0 1 1 I, predicted 0 0 2 2 → class 0 1/2, class 1 0/2, class 2 0/1 (its ignored pixel left out) → 1/6; 1/3.
 * c: every pixel ignored → no score.
 * d: labels 2 2 2 0, predicted 2 2 0 0 → class 2 2/3, class 0 1/2 → 7/12; 3/4.
 */
const IMAGES = [
  { name: 'a', labels: [0, 0, 1, 1], predicted: [0, 0, 1, 1] },
  { name: 'b', labels: [0, 1, 1, I], predicted: [0, 0, 2, 2] },
  { name: 'c', labels: [I, I, I, I], predicted: [1, 1, 1, 1] },
  { name: 'd', labels: [2, 2, 2, 0], predicted: [2, 2, 0, 0] },
];

/** The predicted class written into each pixel's red channel (class × 100), which the stand-in network reads back. */
function maskSet(): MaskSet {
  return {
    size: 2,
    images: IMAGES.map((img) => Uint8Array.from(img.predicted.flatMap((c) => [c * 100, 0, 0]))),
    labels: IMAGES.map((img) => Uint8Array.from(img.labels)),
    paths: IMAGES.map((img) => `/data/images/${img.name}.png`),
    masks: IMAGES.map((img) => `/data/masks/${img.name}.png`),
    buffers: new BufferPool(),
  };
}

/** Logits that put each pixel in the class its red channel names: the predictions above, exactly. */
const standIn = {
  forward: (x: tf.Tensor4D) => tf.tidy(() => {
    const red = tf.round(x.slice([0, 0, 0, 0], [-1, -1, -1, 1]).squeeze([3]).mul(255 / 100)).toInt();
    return tf.oneHot(red, CLASSES.length).toFloat().mul(10) as tf.Tensor4D;
  }),
};

beforeAll(() => initBackend('cpu'));

describe('the worst images of a segmentation evaluation', () => {
  it('scores each image on its own, lowest first, and the set over every pixel', async () => {
    const before = tf.memory().numTensors;
    const e = await evaluateSegmentation(standIn, maskSet(), 3, CLASSES); // batches of 3 and 1: indices carry across
    expect(tf.memory().numTensors).toBe(before);
    expect(e.worstImages.map((w) => [w.file, w.mask])).toEqual([
      ['/data/images/b.png', '/data/masks/b.png'], ['/data/images/d.png', '/data/masks/d.png'], ['/data/images/a.png', '/data/masks/a.png'],
    ]);
    const [b, d, a] = e.worstImages;
    expect(b.miou).toBeCloseTo(1 / 6, 12);
    expect(b.pixelAccuracy).toBeCloseTo(1 / 3, 12);
    expect(d.miou).toBeCloseTo(7 / 12, 12);
    expect(d.pixelAccuracy).toBeCloseTo(3 / 4, 12);
    expect([a.miou, a.pixelAccuracy]).toEqual([1, 1]);
    // The set: class 0 TP 4 of 4 labelled, 6 predicted → 4/6; class 1 TP 2, 4 labelled, 2 predicted → 2/4;
    // class 2 TP 2, 3 labelled, 3 predicted → 2/4. Its mIoU 5/9, not the images' mean (1 + 1/6 + 7/12) / 3.
    expect(e.perClassIou.map((v) => v!.toFixed(12))).toEqual([4 / 6, 2 / 4, 2 / 4].map((v) => v.toFixed(12)));
    expect(e.miou).toBeCloseTo(5 / 9, 12);
    expect(e.pixelAccuracy).toBeCloseTo(8 / 11, 12);
    expect(e.confusion).toEqual([[4, 0, 0], [1, 2, 1], [1, 0, 2]]);
  });

  it('keeps the k lowest, ties in the set\'s order, and leaves an image of ignored pixels out', () => {
    const s = new ImageScores(2);
    // Images 0 and 1: labels 0 1 and 1 1, predicted 0 0 and 0 1 → mIoU 1/4 each (one class 1/2, the other 0).
    s.add([0, 1], Int32Array.from([0, 0, 0, 1]), Int32Array.from([0, 1, 1, 1]));
    // Image 2 right (mIoU 1); image 3 all ignored; image 4 (three pixels): labels 0 0 1, predicted 0 0 0 → (2/3 + 0) / 2.
    s.add([2, 3], Int32Array.from([1, 1, 0, 0]), Int32Array.from([1, 1, 255, 255]));
    s.add([4], Int32Array.from([0, 0, 0]), Int32Array.from([0, 0, 1]));
    expect(s.worst(2).map((w) => w.index)).toEqual([0, 1]);
    expect(s.worst(10).map((w) => [w.index, w.miou.toFixed(12), w.pixelAccuracy.toFixed(12)])).toEqual(
      [[0, 1 / 4, 1 / 2], [1, 1 / 4, 1 / 2], [4, 1 / 3, 2 / 3], [2, 1, 1]].map(([i, m, p]) => [i, m.toFixed(12), p.toFixed(12)]));
    expect(() => s.add([5, 6], Int32Array.from([0, 0, 0]), Int32Array.from([0, 0, 0]))).toThrow(/3 labels do not split into 2 images/);
  });
});
