// The fused LayerNorm over the last axis (kernels/layernorm.c) as TF.js kernels of the studio's own names
// (util/kernel-traits.ts LAYER_NORM_KERNELS); the model's layerNormLastAxis uses them where they exist.
import * as tf from '@tensorflow/tfjs';
import { LAYER_NORM_KERNELS } from '../util/kernel-traits.ts';
import type { KernelMaker } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf, withScratch } from '../util/wasm-memory.ts';

/** The named inputs, each checked float32, and the row layout of the first: rows × dim (its last axis). */
function rowsOf(args: Parameters<tf.KernelFunc>[0], kernel: string, names: string[]) {
  const inputs = args.inputs as Record<string, tf.TensorInfo>;
  for (const n of names) {
    if (inputs[n]?.dtype !== 'float32') throw new Error(`${kernel}: input ${n} must be float32`);
  }
  const x = inputs[names[0]];
  const dim = x.shape[x.shape.length - 1];
  if (!(dim > 0) || inputs.gamma.shape.join() !== String(dim)) {
    throw new Error(`${kernel}: ${names[0]} [${x.shape}] and gamma [${inputs.gamma.shape}] must share the last axis`);
  }
  const backend = wasmBackendOf(args);
  return { backend, inputs, x, dim, rows: tf.util.sizeFromShape(x.shape) / dim, at: (t: tf.TensorInfo) => offsetOf(backend, t) };
}

const forward: KernelMaker = (exportsFor) => (args) => {
  const { backend, inputs, x, dim, rows, at } = rowsOf(args, LAYER_NORM_KERNELS.forward, ['x', 'gamma', 'beta']);
  if (inputs.beta.shape.join() !== String(dim)) throw new Error(`${LAYER_NORM_KERNELS.forward}: beta [${inputs.beta.shape}] must be [${dim}]`);
  const { eps } = args.attrs as { eps: number };
  const [y, xhat] = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(x.shape, 'float32')];
  const invstd = backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  exportsFor(backend).ln_forward(at(x), at(inputs.gamma), at(inputs.beta), at(y), at(xhat), at(invstd), rows, dim, eps);
  return [y, xhat, invstd];
};

const backward: KernelMaker = (exportsFor) => (args) => {
  const { backend, inputs, x: dy, dim, rows, at } = rowsOf(args, LAYER_NORM_KERNELS.backward, ['dy', 'xhat', 'invstd', 'gamma']);
  if (inputs.xhat.shape.join() !== dy.shape.join() || tf.util.sizeFromShape(inputs.invstd.shape) !== rows) {
    throw new Error(`${LAYER_NORM_KERNELS.backward}: dy [${dy.shape}], xhat [${inputs.xhat.shape}] and invstd [${inputs.invstd.shape}] do not match`);
  }
  const [dx, dgamma, dbeta] = [backend.makeOutput(dy.shape, 'float32'), backend.makeOutput([dim], 'float32'), backend.makeOutput([dim], 'float32')];
  withScratch(backend, 8 * dim, (s) => exportsFor(backend).ln_backward(at(dy), at(inputs.xhat), at(inputs.invstd), at(inputs.gamma),
    at(dx), at(dgamma), at(dbeta), rows, dim, s));
  return [dx, dgamma, dbeta];
};

export const LAYER_NORM_MAKERS: Record<string, KernelMaker> = {
  [LAYER_NORM_KERNELS.forward]: forward,
  [LAYER_NORM_KERNELS.backward]: backward,
};
