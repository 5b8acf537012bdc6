// The last-axis softmax and its gradient (kernels/softmax.c) as TF.js kernels of the studio's own names
// (util/kernel-traits.ts SOFTMAX_KERNELS); the model's softmaxLastAxis (attention's weights) uses them where they exist.
import * as tf from '@tensorflow/tfjs';
import { SOFTMAX_KERNELS } from '../util/kernel-traits.ts';
import type { KernelMaker } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf } from '../util/wasm-memory.ts';

/** The inputs by name, each float32 and of the first one's shape, and the row length and count. */
function rowsOf(args: Parameters<tf.KernelFunc>[0], kernel: string, names: string[]) {
  const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const shape = inputs[names[0]]?.shape;
  for (const n of names) {
    const t = inputs[n];
    if (!t || t.dtype !== 'float32' || t.shape.join() !== shape?.join()) {
      throw new Error(`${kernel}: ${n} must be float32 [${shape}], got ${t ? `${t.dtype} [${t.shape}]` : 'none'}`);
    }
  }
  if (!shape?.length) throw new Error(`${kernel}: needs at least one axis`);
  const cols = shape[shape.length - 1];
  return { inputs: inputs as Record<string, tf.TensorInfo>, shape, cols, rows: cols ? tf.util.sizeFromShape(shape) / cols : 0 };
}

const forward: KernelMaker = (exportsFor) => (args) => {
  const { inputs, shape, rows, cols } = rowsOf(args, SOFTMAX_KERNELS.forward, ['x']);
  const backend = wasmBackendOf(args);
  const y = backend.makeOutput(shape, 'float32');
  if (rows) exportsFor(backend).softmax_rows(offsetOf(backend, inputs.x), offsetOf(backend, y), rows, cols);
  return y;
};

const grad: KernelMaker = (exportsFor) => (args) => {
  const { inputs, shape, rows, cols } = rowsOf(args, SOFTMAX_KERNELS.grad, ['y', 'dy']);
  const backend = wasmBackendOf(args);
  const dx = backend.makeOutput(shape, 'float32');
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  if (rows) exportsFor(backend).softmax_rows_grad(at(inputs.y), at(inputs.dy), at(dx), rows, cols);
  return dx;
};

export const SOFTMAX_MAKERS: Record<string, KernelMaker> = { [SOFTMAX_KERNELS.forward]: forward, [SOFTMAX_KERNELS.grad]: grad };
