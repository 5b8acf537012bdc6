// BatchMatMul on the studio's SIMD kernel (kernels/batch-matmul.c): attention's products, a few hundred small
// matrices per call, and the 2-D products of linear layers and weight gradients, transposed operands included.
// `npm run bench -- kernels` times it against TF.js's own on the same tensors: 7× on attention's
// [256,64,16]·[256,16,64], 10× on a weight gradient [65536,16]ᵀ·[65536,32] (TF.js's transposeA path).
import * as tf from '@tensorflow/tfjs';
import type { KernelWrapper } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf, withScratch } from '../util/wasm-memory.ts';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The scratch batch_matmul needs for a product with inner size k and n columns (batch-matmul.c says why): b
 * transposed where b comes transposed, and b in column panels for an untransposed a. Every caller of the kernel
 * sizes its scratch here.
 */
export function batchMatMulScratchBytes(k: number, n: number, transposeA: boolean, transposeB: boolean): number {
  return ((transposeB ? k * n : 0) + (transposeA ? 0 : k * n)) * 4;
}

export const batchMatMulKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return builtin(args);
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const [batchA, batchB] = [size(outerA), size(outerB)];
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return builtin(args); // its own error message for shapes that do not broadcast
  }
  const batch = size(outer);
  // A broadcast that is not "the same batch, or one matrix for all".
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return builtin(args);
  const [ra, ca] = a.shape.slice(-2), [rb, cb] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [k2, n] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== k2) return builtin(args); // TF.js's own error names the shapes
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput([...outer, m, n], 'float32');
  if (m * n === 0) return out;
  withScratch(backend, batchMatMulScratchBytes(k, n, transposeA, transposeB), (scratch) => exportsFor(backend).batch_matmul(offsetOf(backend, a),
    offsetOf(backend, b), offsetOf(backend, out), batch, batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, scratch));
  return out;
};
