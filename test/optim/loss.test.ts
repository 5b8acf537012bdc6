import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { smoothedCrossEntropy } from '../../src/optim/loss.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

/** PyTorch CrossEntropyLoss(label_smoothing=eps) in float64. */
function reference(logits: number[][], labels: number[], eps: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits[i], c = row.length;
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
    const logp = row.map((z) => z - lse);
    for (let k = 0; k < c; k++) total -= ((k === labels[i] ? 1 - eps : 0) + eps / c) * logp[k];
  }
  return total / labels.length;
}

describe('label-smoothing cross-entropy', () => {
  const logits = [[2, -1, 0.5, 3], [0, 0, 0, 0], [-3, 4, 1, 1]];
  const labels = [3, 1, 0];

  it('equals PyTorch CrossEntropyLoss(label_smoothing) for 0 and 0.1', () => {
    for (const eps of [0, 0.1]) {
      const l = smoothedCrossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), eps);
      expect(l.dataSync()[0]).toBeCloseTo(reference(logits, labels, eps), 5);
      l.dispose();
    }
  });

  it('is log(C) for uniform logits whatever the smoothing', () => {
    const l = smoothedCrossEntropy(tf.zeros([2, 5]) as tf.Tensor2D, tf.tensor1d([0, 4], 'int32'), 0.1);
    expect(l.dataSync()[0]).toBeCloseTo(Math.log(5), 5);
  });

  it('has the smoothed-target gradient softmax − target', () => {
    const x = tf.tensor2d([[1, 2, 0.5]]);
    const g = tf.grad((z: tf.Tensor) => smoothedCrossEntropy(z as tf.Tensor2D, tf.tensor1d([1], 'int32'), 0.1))(x);
    const p = tf.softmax(x).dataSync();
    const target = [0.1 / 3, 0.9 + 0.1 / 3, 0.1 / 3];
    Array.from(g.dataSync()).forEach((v, k) => expect(v).toBeCloseTo(p[k] - target[k], 5));
  });
});
