// Identity on wasm without a copy. TF.js's wasm Identity copies its input into new memory, and the engine calls
// Identity for every tensor a gradient keeps (each saved input and output of a recorded op is cloned), so a
// training step copied its activations once more: 3–5 % of an XXS step's kernel time (classification 256 px,
// DeepLabv3 256 px, SSDLite 320 px) and the copies' memory until the backward pass ends. The cpu backend's
// Identity shares the input's data; this one does too, through the reference count the wasm backend keeps for
// Reshape, whose output already shares its input's memory. No kernel writes into its inputs, so sharing is safe.
import type * as tf from '@tensorflow/tfjs';

/** The part of TF.js's WasmBackend that counts a memory block's owners (it has no public type). */
interface RefCounted { incRef(dataId: object): void }

/** Identity: the input's own data under one more reference. */
export const sharedIdentity: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  (backend as unknown as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};
