// Where TF.js's wasm backend keeps its tensors, for the studio's kernels that read and write them in place
// (backend/wasm-simd-kernels.ts): each tensor's offset in the backend's memory, and scratch space from its heap.
import type * as tf from '@tensorflow/tfjs';

/** The parts of TF.js's WasmBackend a kernel needs (it has no public type for them). */
export interface WasmBackendParts {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The wasm backend a kernel function was called with. */
export const wasmBackendOf = (args: Parameters<tf.KernelFunc>[0]): WasmBackendParts => args.backend as unknown as WasmBackendParts;

/** The byte offset of `t` in the backend's memory. */
export const offsetOf = (backend: WasmBackendParts, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;

/** Runs `fn` with `bytes` of the backend's heap as scratch (a null pointer for 0 bytes), freed however it ends. */
export function withScratch<T>(backend: WasmBackendParts, bytes: number, fn: (ptr: number) => T): T {
  const ptr = bytes > 0 ? backend.wasm._malloc(bytes) : 0;
  try {
    return fn(ptr);
  } finally {
    if (ptr) backend.wasm._free(ptr);
  }
}
