import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EvalAccumulator, evaluate } from '../../src/train/evaluate.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

const logSoftmax = (rows: number[][]) => new Float32Array(rows.flatMap((r) => {
  const lse = Math.log(r.reduce((s, z) => s + Math.exp(z), 0));
  return r.map((z) => z - lse);
}));

describe('evaluation metrics', () => {
  it('computes loss, top-1, per-class accuracy, confusion and misclassified files', () => {
    const acc = new EvalAccumulator(['cat', 'dog', 'fox']);
    acc.add(logSoftmax([[3, 0, 0], [0, 2, 0], [0, 0, 1], [4, 0, 1]]), new Int32Array([0, 1, 2, 1]), ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
    const r = acc.result();
    expect(r.count).toBe(4);
    expect(r.top1).toBe(0.75);
    expect(r.top5).toBeNull(); // fewer than 5 classes
    expect(r.confusion).toEqual([[1, 0, 0], [1, 1, 0], [0, 0, 1]]);
    expect(r.perClass).toEqual([
      { class: 'cat', accuracy: 1, count: 1 }, { class: 'dog', accuracy: 0.5, count: 2 }, { class: 'fox', accuracy: 1, count: 1 },
    ]);
    expect(r.misclassified).toHaveLength(1);
    expect(r.misclassified[0]).toMatchObject({ file: 'd.jpg', trueClass: 'dog', predictedClass: 'cat' });
    expect(r.misclassified[0].confidence).toBeCloseTo(Math.exp(4) / (Math.exp(4) + 1 + Math.exp(1)), 5);
    const lp = logSoftmax([[3, 0, 0], [0, 2, 0], [0, 0, 1], [4, 0, 1]]);
    expect(r.loss).toBeCloseTo(-(lp[0] + lp[4] + lp[8] + lp[10]) / 4, 5);
  });

  it('computes top-5 with at least 5 classes, and a class with no images has accuracy null', () => {
    const classes = ['a', 'b', 'c', 'd', 'e', 'f'];
    const acc = new EvalAccumulator(classes);
    // true class ranked 6th (last) in the first row, 2nd in the second.
    acc.add(logSoftmax([[6, 5, 4, 3, 2, 1], [1, 5, 6, 0, 0, 0]]), new Int32Array([5, 1]), ['x', 'y']);
    const r = acc.result();
    expect(r.top1).toBe(0);
    expect(r.top5).toBe(0.5);
    expect(r.perClass[0].accuracy).toBeNull();
  });

  it('rejects a label outside the classes, naming the file', () => {
    const acc = new EvalAccumulator(['a', 'b']);
    expect(() => acc.add(logSoftmax([[0, 1]]), new Int32Array([2]), ['bad.png'])).toThrow(/bad\.png/);
  });

  it('runs a model over batches, disposing them', async () => {
    const w = tf.tensor2d([[1, 0], [0, 1], [0, 0]]); // mean-pooled RGB → 2 logits
    const model = { forward: (x: tf.Tensor4D) => tf.tidy(() => tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, w)) as tf.Tensor2D };
    const before = tf.memory().numTensors;
    async function* batches() {
      yield { x: tf.tensor4d([1, 0, 0, 0, 1, 0], [2, 1, 1, 3]), labels: new Int32Array([0, 0]), files: ['r.png', 'g.png'] };
    }
    const r = await evaluate(model, batches(), ['red', 'green']);
    expect(r.top1).toBe(0.5);
    expect(r.misclassified[0].file).toBe('g.png');
    expect(tf.memory().numTensors).toBe(before);
  });
});
