// Sum and Mean over every axis but the last, on the studio's SIMD kernel (kernels/reduce-rows.c): the bias and
// BatchNorm gradients and BatchNorm's batch statistics of a training step. TF.js's wasm kernels reduce only
// innermost axes and transpose the whole tensor first; other reductions stay with them.
import * as tf from '@tensorflow/tfjs';
import type { KernelWrapper } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf } from '../util/wasm-memory.ts';

/** Whether `axis` names exactly the leading axes of a rank-`rank` tensor (all but the last). */
function leadingAxes(axis: number | number[], shape: number[]): boolean {
  const axes = [...tf.util.parseAxisParam(axis, shape)].sort((a, b) => a - b);
  return shape.length >= 2 && axes.length === shape.length - 1 && axes.every((a, i) => a === i);
}

function reduceRows(mean: boolean): KernelWrapper {
  return (builtin, exportsFor) => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || !leadingAxes(axis, x.shape)) return builtin(args);
    const cols = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, cols);
    const backend = wasmBackendOf(args);
    const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), cols] : [cols], 'float32');
    if (cols === 0) return out;
    // An empty mean is NaN, as TF.js's (0 / 0).
    exportsFor(backend).sum_rows(offsetOf(backend, x), offsetOf(backend, out), rows, cols, mean ? 1 / rows : 1);
    return out;
  };
}

export const sumKernel = reduceRows(false);
export const meanKernel = reduceRows(true);
