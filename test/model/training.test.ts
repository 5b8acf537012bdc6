// Training mode: BatchNorm batch statistics and running-stat updates, dropout, and gradients reaching
// every trainable parameter of every variant.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, VARIANT_NAMES } from '../../src/model/index.ts';
import { initBackend } from '../../src/backend/index.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';

// wasm with the studio's registered backward kernels: the backend training really runs on here.
beforeAll(async () => { await initBackend('wasm'); });

function lossFn(model: ReturnType<typeof createModel>, x: tf.Tensor4D, labels: tf.Tensor1D, seed: number) {
  let s = seed;
  return () => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, model.numClasses),
    model.forward(x, { training: true, nextSeed: () => s++ })) as tf.Scalar;
}

describe('training mode', () => {
  it('BatchNorm normalises with batch statistics and moves running stats by momentum 0.1 (unbiased var)', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 4, seed: 1 });
    const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const w = model.params.get('stem.conv.weight')!.variable as tf.Tensor4D;
    const conv = tf.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), w, 2, 'valid');
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const n = conv.size / 16;
    const out = model.forward(x, { training: true, nextSeed: () => 1 });
    const rm = model.params.get('stem.bn.running_mean')!.variable.dataSync();
    const rv = model.params.get('stem.bn.running_var')!.variable.dataSync();
    expect(maxAbsDiff(rm, tf.mul(mean, 0.1).dataSync())).toBeLessThan(1e-6);
    expect(maxAbsDiff(rv, tf.add(0.9, tf.mul(variance, 0.1 * n / (n - 1))).dataSync())).toBeLessThan(1e-5);
    // Eval mode leaves the running statistics alone and is deterministic.
    const e1 = model.forward(x);
    const e2 = model.forward(x);
    expect(maxAbsDiff(e1.dataSync(), e2.dataSync())).toBe(0);
    expect(maxAbsDiff(model.params.get('stem.bn.running_mean')!.variable.dataSync(), rm)).toBe(0);
    tf.dispose([x, conv, mean, variance, out, e1, e2]);
    model.dispose();
  });

  it('dropout masks come from the seed source: same seeds, same output; other seeds, other output', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 4, seed: 1 });
    const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const run = (seed: number) => { let s = seed; return model.forward(x, { training: true, nextSeed: () => s++ }); };
    const [a, b, c] = [run(10), run(10), run(99)];
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    expect(maxAbsDiff(a.dataSync(), c.dataSync())).toBeGreaterThan(0);
    tf.dispose([x, a, b, c]);
    model.dispose();
  });

  it.each(VARIANT_NAMES)('%s: after one optimisation step every trainable parameter gets a finite, non-zero gradient', (variant) => {
    const model = createModel(variant, { numClasses: 5, seed: 2 });
    // MobileNetV2's last stages are 1×1 at 32 px, where batch statistics of 2 values can vanish.
    const size = variant === 'mobilenet_v2' ? 64 : 32;
    const x = tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 3], 'int32');
    const vars = model.trainableVariables();
    const keys = [...model.params].filter(([, p]) => p.trainable).map(([k]) => k);
    // Step 1 moves timm's zero-initialised residual BatchNorm gammas off zero (before it, the branches
    // behind them have zero gradient by design); step 2's gradients must then reach everything.
    const opt = tf.train.sgd(0.1);
    const before = tf.memory().numTensors;
    opt.minimize(lossFn(model, x, labels, 1), false, vars);
    const { value, grads } = tf.variableGrads(lossFn(model, x, labels, 100), vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    vars.forEach((v, i) => {
      const g = grads[v.name].dataSync();
      expect(g.every(Number.isFinite), keys[i]).toBe(true);
      expect(g.some((e) => e !== 0), `${keys[i]} has an all-zero gradient`).toBe(true);
    });
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([x, labels]);
    model.dispose();
  });
});
