// Shared by the export tests: a model with non-trivial BatchNorm/LayerNorm statistics (seeded), and the
// TF.js and onnxruntime logits of one input.
import * as tf from '@tensorflow/tfjs';
import { createModel, type Model, type Param, type VariantName } from '../../src/model/index.ts';
import type * as OrtTypes from 'onnxruntime-node';
import { createOrtSession, loadOrt, nhwcToNchw, ortLogits } from '../../src/export/ort.ts';

/** Random init, then every normalisation parameter and running statistic drawn away from 0/1 (seeded). */
export function randomModel(variant: VariantName, numClasses: number, seed: number): Model {
  return randomizeVectors(createModel(variant, { numClasses, seed }), seed, (key) => key.startsWith('head.') || key.startsWith('classifier.'));
}

/**
 * Every vector parameter of `network` not `kept` (BatchNorm's and LayerNorm's weights and statistics, biases)
 * drawn at random, seeded: positive around 1 for scales and variances, around 0 for the rest.
 */
export function randomizeVectors<N extends { params: ReadonlyMap<string, Param> }>(network: N, seed: number, kept: (key: string) => boolean = () => false): N {
  let k = 1;
  for (const [key, p] of network.params) {
    if (p.layout !== 'vector' || kept(key)) continue;
    const s = seed * 7919 + k++ * 104729;
    const positive = key.endsWith('running_var') || key.endsWith('.weight');
    p.variable.assign(positive ? tf.randomUniform(p.variable.shape, 0.5, 1.5, 'float32', s) : tf.randomUniform(p.variable.shape, -0.2, 0.2, 'float32', s));
  }
  return network;
}

export function randomImages(b: number, size: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([b, size, size, 3], 0, 1, 'float32', seed).dataSync() as Float32Array).slice();
}

export function tfLogits(model: Model, nhwc: Float32Array, b: number, size: number): Float32Array {
  const x = tf.tensor4d(nhwc, [b, size, size, 3]);
  const y = model.forward(x);
  const out = y.dataSync().slice() as Float32Array;
  tf.dispose([x, y]);
  return out;
}

export async function onnxLogits(bytes: Uint8Array, nhwc: Float32Array, b: number, size: number): Promise<Float32Array> {
  const session = await createOrtSession(bytes, { threads: 1 });
  try {
    return await ortLogits(session, nhwc, b, size, size);
  } finally {
    await session.release();
  }
}

/** Every output of a graph, by name, for NHWC images [b, h, w, 3] (fed as the `pixels` NCHW input). */
export async function ortOutputs(bytes: Uint8Array, nhwc: Float32Array, [b, h, w]: readonly number[]): Promise<Record<string, OrtTypes.Tensor>> {
  const ort = await loadOrt();
  const session = await createOrtSession(bytes, { threads: 1 });
  try {
    return await session.run({ pixels: new ort.Tensor('float32', nhwcToNchw(nhwc, b, h, w), [b, 3, h, w]) });
  } finally {
    await session.release();
  }
}

/** NCHW [b, c, h, w] → NHWC, to compare a graph's maps with the studio's layout. */
export function toNhwc(x: Float32Array, [b, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < b; n++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[(n * h * w + i) * c + ch] = x[(n * c + ch) * h * w + i];
  return out;
}
