import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PIXEL_OBJECTIVE } from '../../src/optim/objective.ts';
import { pixelCrossEntropy } from '../../src/optim/segmentation-loss.ts';
import { Trainer, type TrainableModel } from '../../src/optim/trainer.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

/** A dense stand-in: a 1×1 conv from RGB to 2 classes at 1/2 of the input (average-pooled), as a segmentation head reads. */
function denseModel(): TrainableModel & { dispose(): void } {
  const w = tf.variable(tf.tensor4d([0.2, -0.1, 0.1, 0.3, -0.2, 0.1], [1, 1, 3, 2]), true, `dense-w-${Math.random()}`);
  const params = new Map([['head.weight', { variable: w, trainable: true }]]);
  return {
    params,
    headKeys: ['head.weight'],
    forward: (x) => tf.tidy(() => tf.conv2d(tf.avgPool(x, 2, 2, 'valid'), w as tf.Tensor4D, 1, 'same')),
    dispose: () => w.dispose(),
  };
}

/** Left half red (class 0), right half blue (class 1), the bottom row ignored (255). */
function batch(n: number, size: number): { x: tf.Tensor4D; labels: Int32Array } {
  const px: number[] = [];
  const labels = new Int32Array(n * size * size);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const c = x < size / 2 ? 0 : 1;
        px.push(c ? 0.1 : 0.9, 0.3, c ? 0.9 : 0.1);
        labels[(i * size + y) * size + x] = y === size - 1 ? 255 : c;
      }
    }
  }
  return { x: tf.tensor4d(px, [n, size, size, 3]), labels };
}

describe('pixel objective', () => {
  it('counts labelled pixels and the right ones among them, 255 left out', () => {
    const y = tf.tensor3d([0, 1, 255, 1], [1, 2, 2], 'int32');
    const logits = tf.tensor4d([5, 0, 5, 0, 0, 5, 0, 5], [1, 2, 2, 2]); // predicts 0, 0, 1, 1
    expect(PIXEL_OBJECTIVE.counted(y).dataSync()[0]).toBe(3);
    expect(PIXEL_OBJECTIVE.hits(logits, y).dataSync()[0]).toBe(2);
    expect(() => PIXEL_OBJECTIVE.labelTensor(new Int32Array(5), 1, 2)).toThrow(/5 pixel labels for 1 label maps of 2×2/);
    tf.dispose([y, logits]);
  });

  it('trains a dense model: the step loss is the pixel cross-entropy, the hits are out of the labelled pixels, and it learns', async () => {
    const model = denseModel();
    const trainer = new Trainer(model, { adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, labelSmoothing: 0.1, gradClip: null, emaDecay: null }, PIXEL_OBJECTIVE);
    const { x, labels } = batch(2, 4);
    const expected = tf.tidy(() => pixelCrossEntropy(model.forward(x) as tf.Tensor4D, tf.tensor3d(labels, [2, 4, 4], 'int32')).dataSync()[0]);
    const seeds = () => () => 0;
    const first = await trainer.step(x, labels, 0.05, seeds);
    expect(first.loss).toBeCloseTo(expected, 5);
    expect(first.counted).toBe(2 * 4 * 3);
    let last = first;
    for (let i = 0; i < 30; i++) last = await trainer.step(x, labels, 0.05, seeds);
    expect(last.loss).toBeLessThan(first.loss / 2);
    expect(last.correct).toBe(last.counted);
    // Split into passes of one image, the labels go with their images: the same loss as one pass.
    const whole = tf.tidy(() => pixelCrossEntropy(model.forward(x) as tf.Tensor4D, tf.tensor3d(labels, [2, 4, 4], 'int32')).dataSync()[0]);
    const split = await trainer.step(x, labels, 0, seeds, false, 1);
    expect(split.loss).toBeCloseTo(whole, 5);
    trainer.dispose();
    model.dispose();
    x.dispose();
  });
});
