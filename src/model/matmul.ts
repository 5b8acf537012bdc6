// The model's matrix products (linear layers, attention) with hand-written backward passes, in the
// formulation each backend runs fastest:
// - with the studio's SIMD kernel on wasm (util/kernel-traits.ts), products take transposed operands and
//   batches as they come: no transpose op, no split into slices;
// - with TF.js's own wasm kernels, a product with transposeA/transposeB runs six to seven times slower than an
//   explicit transpose then a plain product (a [2048,64]ᵀ·[2048,192] weight gradient: 26 ms against 4 ms), and
//   attention's scores over many patches are faster as separate 2-D products (below).
import * as tf from '@tensorflow/tfjs';
import { transposedMatMulIsFast } from '../util/kernel-traits.ts';
import { tidyGrad } from './custom-grads.ts';

const flagsFast = () => transposedMatMulIsFast(tf.getBackend());

/** a·op(b), op(b) = bᵀ when `tb`: with the flag where that is fast, else with an explicit transpose. */
function product<T extends tf.Tensor>(a: T, b: T, ta: boolean, tb: boolean, transpose: (t: T) => T): T {
  if (flagsFast() || (!ta && !tb)) return tf.matMul(a, b, ta, tb) as T;
  return tf.matMul(ta ? transpose(a) : a, tb ? transpose(b) : b) as T;
}

/**
 * x·w + b over x's last axis, x of any rank (flattened to rows: batched products are slow on wasm, and w is shared
 * across the batch anyway), as one op on the gradient tape. TF.js's autodiff of reshape → product → add → reshape
 * records four ops, keeps a clone of each of their inputs and runs a kernel for each on the way back; this keeps x
 * and w. Backward: dx = dy·wᵀ, dw = xᵀ·dy, db = Σ dy over the rows (the kernels autodiff ran, in the same order).
 */
export function affine(x: tf.Tensor, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor {
  const [din, dout] = w.shape;
  const rows = x.size / din;
  const outShape = [...x.shape.slice(0, -1), dout];
  const t = (m: tf.Tensor2D) => tf.transpose(m);
  const op = tf.customGrad((xIn, wIn, bIn, save) => {
    const x2 = (xIn as tf.Tensor).reshape([rows, din]) as tf.Tensor2D;
    (save as tf.GradSaveFunc)([x2, wIn as tf.Tensor2D]);
    return {
      value: tf.add(tf.matMul(x2, wIn as tf.Tensor2D), bIn as tf.Tensor).reshape(outShape),
      gradFunc: tidyGrad<tf.Tensor2D[]>((dy, [x2, w]) => {
        const dy2 = dy.reshape([rows, dout]) as tf.Tensor2D;
        return [product(dy2, w, false, true, t).reshape(x.shape), product(x2, dy2, true, false, t), tf.sum(dy2, 0)];
      }),
    };
  });
  return op(x, w, b);
}

/** Swaps the last two axes of a rank-4 tensor (a fast rank-4 transpose on wasm). */
export const swapLast = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 1, 3, 2]);

/**
 * Whether a product is attention's scores over many patches ([·, N, hd]·[·, hd, N] with N ≥ 256), which
 * TF.js's own wasm kernel computes several times faster as separate 2-D products than as one batched product
 * (measured, CPU ms, 16 slices of 256×16·16×256: 30 batched against 5 per slice; 64 slices: 125 against
 * 82). Smaller N (64 patches) and the other products (N×N·N×hd) are faster batched.
 */
function scoresAsSlices(m: number, k: number, n: number): boolean {
  return !flagsFast() && m >= 256 && n >= 256 && k < m;
}

/** [B, H, M, K]·[B, H, K, N] as B·H separate 2-D products. */
function matMulPerSlice(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const [bs, h, m, k] = a.shape;
  const n = b.shape[3];
  return tf.tidy(() => {
    const as = tf.unstack(a.reshape([bs * h, m, k]));
    const bsl = tf.unstack(b.reshape([bs * h, k, n]));
    return tf.concat(as.map((x, i) => tf.matMul(x as tf.Tensor2D, bsl[i] as tf.Tensor2D)), 0).reshape([bs, h, m, n]);
  });
}

/** Batched a·b, rank 4: [B, H, M, K]·[B, H, K, N] (attention's mixing: weights · v). */
export const batchMatMul4d: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D = tf.customGrad((aIn, bIn, save) => {
  const [a, b] = [aIn, bIn] as tf.Tensor4D[];
  (save as tf.GradSaveFunc)([a, b]);
  return {
    value: scoresAsSlices(a.shape[2], a.shape[3], b.shape[3]) ? matMulPerSlice(a, b) : tf.matMul(a, b),
    gradFunc: tidyGrad<tf.Tensor4D[]>((dy, [a, b]) => [product(dy as tf.Tensor4D, b, false, true, swapLast), product(a, dy as tf.Tensor4D, true, false, swapLast)]),
  };
}) as (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;

/** Batched a·bᵀ, rank 4: [B, H, M, K]·[B, H, N, K]ᵀ (attention's scores: q · kᵀ). Backward: da = dy·b, db = dyᵀ·a. */
export const batchMatMul4dTransposeB: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D = tf.customGrad((aIn, bIn, save) => {
  const [a, b] = [aIn, bIn] as tf.Tensor4D[];
  (save as tf.GradSaveFunc)([a, b]);
  const value = flagsFast() ? tf.matMul(a, b, false, true)
    : scoresAsSlices(a.shape[2], a.shape[3], b.shape[2]) ? matMulPerSlice(a, swapLast(b)) : tf.matMul(a, swapLast(b));
  return {
    value,
    gradFunc: tidyGrad<tf.Tensor4D[]>((dy, [a, b]) => [tf.matMul(dy as tf.Tensor4D, b), product(dy as tf.Tensor4D, a, true, false, swapLast)]),
  };
}) as (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;
