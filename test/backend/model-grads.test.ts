// End to end: one training step of MobileViT-XXS gives the same gradients on wasm (with the kernels of
// src/backend) as on the cpu backend. The per-kernel tests hold each conv to 1e-4; through ~40 layers of
// float32 the whole network agrees to about 3e-4.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createModel } from '../../src/model/index.ts';

function gradients(x: Float32Array, shape: [number, number, number, number]): Float32Array[] {
  const model = createModel('mobilevit_xxs', { numClasses: 10, seed: 1 });
  const input = tf.tensor4d(x, shape);
  const labels = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
  const vars = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels,
    model.forward(input, { training: true, nextSeed: () => 1 })) as tf.Scalar, vars);
  const out = vars.map((v) => grads[v.name].dataSync() as Float32Array);
  tf.dispose([value, input, labels, ...Object.values(grads)]);
  model.dispose();
  return out;
}

it('MobileViT-XXS training-step gradients on wasm match the cpu backend', async () => {
  // 64 px, batch 2: smaller maps leave BatchNorm with 2 values per channel at the last stage, where
  // batch statistics are too ill-conditioned to compare backends.
  const shape: [number, number, number, number] = [2, 64, 64, 3];
  await initBackend('cpu');
  const x = tf.tidy(() => tf.randomUniform(shape, 0, 1, 'float32', 7).dataSync() as Float32Array);
  const ref = gradients(x, shape);
  await initBackend('wasm');
  const got = gradients(x, shape);

  expect(got.length).toBe(ref.length);
  const scaleOf = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const globalScale = Math.max(...ref.map(scaleOf));
  let worst = 0;
  ref.forEach((r, i) => {
    let diff = 0;
    r.forEach((v, j) => { diff = Math.max(diff, Math.abs(v - got[i][j])); });
    // Parameters behind timm's zero-initialised residual gammas have (near-)zero gradients: measure
    // those against a floor of 1e-3 of the largest gradient instead of their own rounding noise.
    worst = Math.max(worst, diff / Math.max(scaleOf(r), 1e-3 * globalScale));
  });
  expect(globalScale).toBeGreaterThan(0);
  expect(worst).toBeLessThan(1e-3);
});
