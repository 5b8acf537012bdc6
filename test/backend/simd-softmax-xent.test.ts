// The studio's fused softmax cross-entropy (src/backend/kernels/softmax-xent.c, src/optim/fused-cross-entropy.ts)
// against the cpu backend's composed pixel loss: loss and gradient on every shape class the models' losses take
// (classes in fours and with tails of 1-3, two classes, COCO's 81), ignored rows, labels out of range, logits
// spread wide enough to underflow e^x, every row ignored; no tensor left behind, and bad inputs refused by name.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { fusedSoftmaxCrossEntropy } from '../../src/optim/fused-cross-entropy.ts';
import { pixelCrossEntropy } from '../../src/optim/segmentation-loss.ts';
import { fusedSoftmaxXentRuns, SOFTMAX_XENT_KERNEL } from '../../src/util/kernel-traits.ts';
import { IGNORE_INDEX } from '../../src/util/mask-values.ts';
import { Rng } from '../../src/util/random.ts';

beforeAll(async () => { await initBackend('wasm'); }, 120_000);

interface Case { name: string; rows: number; classes: number; spread: number; label(r: number, rng: Rng): number }
const CASES: Case[] = [
  { name: "VOC's 21 classes (a tail of 1), some rows ignored", rows: 300, classes: 21, spread: 3, label: (r, g) => (r % 7 === 0 ? IGNORE_INDEX : g.int(0, 20)) },
  { name: '4 classes (no tail)', rows: 37, classes: 4, spread: 2, label: (_, g) => g.int(0, 3) },
  { name: '3 classes (all tail)', rows: 25, classes: 3, spread: 2, label: (_, g) => g.int(0, 2) },
  { name: '6 classes (a tail of 2)', rows: 19, classes: 6, spread: 5, label: (_, g) => g.int(0, 5) },
  { name: "COCO's 81 classes", rows: 40, classes: 81, spread: 4, label: (_, g) => g.int(0, 80) },
  { name: 'two classes (a binary mask: all tail)', rows: 9, classes: 2, spread: 1, label: (_, g) => g.int(0, 1) },
  { name: 'logits 200 apart (e^x underflows)', rows: 16, classes: 7, spread: 100, label: (_, g) => g.int(0, 6) },
  { name: 'labels out of range and negative (counted, no loss)', rows: 30, classes: 5, spread: 2, label: (r, g) => (r % 5 === 0 ? 9 : r % 5 === 1 ? -1 : g.int(0, 4)) },
  { name: 'every row ignored', rows: 12, classes: 5, spread: 2, label: () => IGNORE_INDEX },
];

/** The pixel loss and its gradient on `backend`, the rows as one map of 1 × rows (no resize). */
async function lossAndGrad(backend: string, logits: Float32Array, labels: Int32Array, rows: number, classes: number) {
  await tf.setBackend(backend);
  const x = tf.tensor4d(logits, [1, 1, rows, classes]);
  const y = tf.tensor3d(labels, [1, 1, rows], 'int32');
  const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => pixelCrossEntropy(l as tf.Tensor4D, y))(x);
  const out = { loss: (await value.data())[0], grad: await grad.data() };
  tf.dispose([x, y, value, grad]);
  return out;
}

describe("the studio's fused softmax cross-entropy on wasm", () => {
  it('is what the pixel loss uses on wasm, and not on cpu', () => {
    expect(fusedSoftmaxXentRuns('wasm')).toBe(true);
    expect(fusedSoftmaxXentRuns('cpu')).toBe(false);
  });

  for (const c of CASES) {
    it(`equals the cpu backend's composed loss and gradient: ${c.name}`, async () => {
      const rng = new Rng(c.rows * 100 + c.classes);
      const logits = Float32Array.from({ length: c.rows * c.classes }, () => (rng.next() * 2 - 1) * c.spread);
      const labels = Int32Array.from({ length: c.rows }, (_, r) => c.label(r, rng));
      const want = await lossAndGrad('cpu', logits, labels, c.rows, c.classes);
      const before = tf.memory().numTensors;
      const got = await lossAndGrad('wasm', logits, labels, c.rows, c.classes);
      expect(tf.memory().numTensors).toBe(before);
      expect(Number.isFinite(got.loss)).toBe(true);
      expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want.loss)));
      got.grad.forEach((v, i) => expect(Math.abs(v - want.grad[i]), `gradient [${i}]`).toBeLessThan(1e-7));
    });
  }

  it('scales its gradient by the incoming one (a loss weighted inside a larger sum)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([[1, 2, 0.5], [0, -1, 3]]);
    const labels = tf.tensor1d([2, 0], 'int32');
    const once = tf.grad((l: tf.Tensor) => fusedSoftmaxCrossEntropy(l as tf.Tensor2D, labels, IGNORE_INDEX))(x);
    const thrice = tf.grad((l: tf.Tensor) => tf.mul(fusedSoftmaxCrossEntropy(l as tf.Tensor2D, labels, IGNORE_INDEX), 3))(x);
    const [a, b] = [await once.data(), await thrice.data()];
    b.forEach((v, i) => expect(v).toBeCloseTo(3 * a[i], 6));
    tf.dispose([x, labels, once, thrice]);
  });

  it('refuses logits or labels of the wrong type or shape, naming them', async () => {
    await tf.setBackend('wasm');
    const run = (logits: tf.Tensor, labels: tf.Tensor) => () => tf.engine().runKernel(SOFTMAX_XENT_KERNEL, { logits, labels }, { ignore: IGNORE_INDEX });
    const [x, three, floats, cube] = [tf.zeros([2, 3]), tf.zeros([3], 'int32'), tf.zeros([2]), tf.zeros([2, 3, 1])];
    expect(run(x, three)).toThrow(/labels must be int32 \[2\], got int32 \[3\]/);
    expect(run(x, floats)).toThrow(/labels must be int32 \[2\], got float32 \[2\]/);
    expect(run(cube, three)).toThrow(/logits must be float32 \[rows, classes\], got float32 \[2,3,1\]/);
    tf.dispose([x, three, floats, cube]);
  });
});
