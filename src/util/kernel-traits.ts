// What a TF.js backend's kernels are fast at, where the model's formulation depends on it. src/backend marks a
// backend when it installs kernels that change the answer (the studio's SIMD matmul on wasm); the model reads
// it when it builds a product. Unmarked backends keep the formulation measured fastest with TF.js's own kernels.
const transposedMatMul = new Set<string>();

/** `backend` (tf.getBackend()'s name) multiplies with transposed operands, and in batches, as fast as plainly. */
export function markTransposedMatMulFast(backend: string): void {
  transposedMatMul.add(backend);
}

export function transposedMatMulIsFast(backend: string): boolean {
  return transposedMatMul.has(backend);
}
