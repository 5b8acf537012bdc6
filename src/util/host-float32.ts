// Float32 tensors written and read by JavaScript without a temporary array on the wasm backend: there a new
// tensor is allocated in the backend's heap and filled through a view of it, and a tensor is read by copying
// from its place in the heap, where tf.tensor(array) and data() would each make a copy of their own (MBs a
// training step: dropout masks, gradients, whose garbage costs the workers' step collections). Other backends
// take the ordinary route.
import * as tf from '@tensorflow/tfjs';
import { offsetOf, type WasmBackendParts } from './wasm-memory.ts';

/**
 * The wasm backend where its memory is reachable from here: Node's single-threaded build exports it; the threaded
 * build a Chromium page runs (wasm-threads) does not, and there the ordinary route is taken, as the studio's kernels
 * are not installed there either (wasm-simd-kernels.ts).
 */
function wasmBackend(): WasmBackendParts | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackendParts;
  return backend.wasm.asm?.memory ? backend : null;
}

/** The float32 values of `t` (its memory on wasm, so valid only until the next allocation there). */
function heapView(backend: WasmBackendParts, t: tf.TensorInfo, size: number): Float32Array {
  return new Float32Array(backend.wasm.asm.memory.buffer, offsetOf(backend, t), size);
}

/** A float32 tensor of `shape` whose values `fill` writes (it sees an array of unspecified contents). */
export function filledFloat32(shape: number[], fill: (values: Float32Array) => void): tf.Tensor {
  const size = tf.util.sizeFromShape(shape);
  const backend = wasmBackend();
  if (!backend || size === 0) {
    const values = new Float32Array(size);
    fill(values);
    return tf.tensor(values, shape, 'float32');
  }
  const info = backend.makeOutput(shape, 'float32');
  try {
    fill(heapView(backend, info, size));
  } catch (e) {
    tf.engine().makeTensorFromTensorInfo(info).dispose();
    throw e;
  }
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Copies the values of the float32 tensor `t` into `into` (of t's size). */
export async function readFloat32Into(t: tf.Tensor, into: Float32Array): Promise<void> {
  if (t.dtype !== 'float32' || t.size !== into.length) throw new Error(`reading a ${t.dtype} tensor of ${t.size} values into ${into.length} floats`);
  const backend = wasmBackend();
  if (backend && t.size > 0) into.set(heapView(backend, t, t.size));
  else into.set((await t.data()) as Float32Array);
}
