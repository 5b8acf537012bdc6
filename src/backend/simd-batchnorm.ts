// The fused training-mode BatchNorm kernels (kernels/batchnorm.c) as TF.js kernels of the studio's own names
// (util/kernel-traits.ts BATCH_NORM_KERNELS); the model's batchNormTraining uses them where they exist.
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_KERNELS } from '../util/kernel-traits.ts';
import { BATCH_NORM_ACT_CODES, type KernelMaker as Maker } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf, withScratch } from '../util/wasm-memory.ts';

function parts(args: Parameters<tf.KernelFunc>[0], names: string[]) {
  const backend = wasmBackendOf(args);
  const inputs = args.inputs as Record<string, tf.TensorInfo>;
  for (const n of names) {
    if (inputs[n]?.dtype !== 'float32') throw new Error(`${BATCH_NORM_KERNELS.act}: input ${n} must be float32`);
  }
  const x = inputs.x;
  const cols = x.shape[x.shape.length - 1];
  if (cols % 4 !== 0) throw new Error(`the studio's BatchNorm kernels take channels in multiples of 4, got ${cols}`);
  const offset = (t: tf.TensorInfo) => offsetOf(backend, t);
  return { backend, inputs, x, cols, rows: tf.util.sizeFromShape(x.shape) / cols, offset };
}

function attrs(args: Parameters<tf.KernelFunc>[0]): { eps: number; act: number } {
  const a = args.attrs as { eps: number; act: string };
  if (!(a.act in BATCH_NORM_ACT_CODES)) throw new Error(`${BATCH_NORM_KERNELS.act}: unknown activation ${a.act}`);
  return { eps: a.eps, act: BATCH_NORM_ACT_CODES[a.act] };
}

const moments: Maker = (exportsFor) => (args) => {
  const { backend, x, cols, rows, offset } = parts(args, ['x']);
  const [mean, variance] = [backend.makeOutput([cols], 'float32'), backend.makeOutput([cols], 'float32')];
  exportsFor(backend).bn_moments(offset(x), offset(mean), offset(variance), rows, cols);
  return [mean, variance];
};

const forward: Maker = (exportsFor) => (args) => {
  const { backend, inputs, x, cols, rows, offset } = parts(args, ['x', 'mean', 'variance', 'gamma', 'beta']);
  const { eps, act } = attrs(args);
  const y = backend.makeOutput(x.shape, 'float32');
  withScratch(backend, 8 * cols, (s) => exportsFor(backend).bn_act_forward(offset(x), offset(inputs.mean), offset(inputs.variance),
    offset(inputs.gamma), offset(inputs.beta), offset(y), rows, cols, eps, act, s));
  return y;
};

const backward: Maker = (exportsFor) => (args) => {
  const { backend, inputs, x, cols, rows, offset } = parts(args, ['x', 'dy', 'mean', 'variance', 'gamma', 'beta']);
  const { eps, act } = attrs(args);
  const [dx, dgamma, dbeta] = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([cols], 'float32'), backend.makeOutput([cols], 'float32')];
  withScratch(backend, 12 * cols, (s) => exportsFor(backend).bn_act_backward(offset(x), offset(inputs.dy), offset(inputs.mean),
    offset(inputs.variance), offset(inputs.gamma), offset(inputs.beta), offset(dx), offset(dgamma), offset(dbeta), rows, cols, eps, act, s));
  return [dx, dgamma, dbeta];
};

export const BATCH_NORM_MAKERS: Record<string, Maker> = {
  [BATCH_NORM_KERNELS.moments]: moments,
  [BATCH_NORM_KERNELS.act]: forward,
  [BATCH_NORM_KERNELS.actGrad]: backward,
};
