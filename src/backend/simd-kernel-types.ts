// The shapes the studio's SIMD kernels share: the C functions the wasm module exports, and how a kernel wraps
// TF.js's own. Apart from wasm-simd-kernels.ts (which loads the module and registers the wrappers), so that the
// kernel files and the loader both import these without importing each other.
import type * as tf from '@tensorflow/tfjs';
import type { WasmBackendParts } from '../util/wasm-memory.ts';

/** The exports every kernel binds to (the C functions of src/backend/kernels/). */
/** kernels/simd-act.h's activation codes, by TF.js's fused-op names (the fused convolutions take these three). */
export const FUSED_ACT_CODES: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };
/** The BatchNorm kernels' (kernels/batchnorm.c): the same codes by the model's names, and SiLU. */
export const BATCH_NORM_ACT_CODES: Record<string, number> = { none: FUSED_ACT_CODES.linear, relu: FUSED_ACT_CODES.relu, relu6: FUSED_ACT_CODES.relu6, silu: 3 };

export interface KernelExports {
  batch_matmul(a: number, b: number, c: number, batch: number, batchA: number, batchB: number, m: number, k: number, n: number,
    transposeA: number, transposeB: number, scratch: number): void;
  sum_rows(x: number, out: number, rows: number, cols: number, scale: number): void;
  depthwise_filter_grad(x: number, dy: number, dw: number, batch: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number): void;
  conv_filter_grad(x: number, dy: number, dw: number, batch: number, h: number, w: number, ci: number, oh: number, ow: number, co: number,
    kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number): void;
  conv_input_grad(dy: number, w: number, dx: number, batch: number, h: number, wd: number, ci: number, oh: number, ow: number, co: number,
    kh: number, kw: number, padTop: number, padLeft: number, paddedDy: number, transposedW: number): void;
  bn_moments(x: number, mean: number, variance: number, rows: number, cols: number): void;
  bn_act_forward(x: number, mean: number, variance: number, gamma: number, beta: number, y: number, rows: number, cols: number,
    eps: number, act: number, scratch: number): void;
  bn_act_backward(x: number, dy: number, mean: number, variance: number, gamma: number, beta: number, dx: number, dgamma: number,
    dbeta: number, rows: number, cols: number, eps: number, act: number, scratch: number): void;
  depthwise_conv(x: number, w: number, bias: number, y: number, batch: number, h: number, wd: number, c: number, oh: number, ow: number,
    kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, hasBias: number, act: number): void;
  depthwise_input_grad(dy: number, w: number, dx: number, batch: number, h: number, wd: number, c: number, oh: number, ow: number,
    kh: number, kw: number, strideH: number, strideW: number, padTop: number, padLeft: number, flipped: number): void;
  adamw_update(p: number, g: number, m: number, v: number, pOut: number, mOut: number, vOut: number, n: number, beta1: number,
    oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, sqrtBc2: number, eps: number, decay: number, shrink: number, step: number): void;
  ema_update(avg: number, w: number, out: number, n: number, d: number, oneMinusD: number): void;
  softmax_xent(x: number, labels: number, grad: number, loss: number, rows: number, cols: number, ignore: number): void;
  ln_forward(x: number, gamma: number, beta: number, y: number, xhat: number, invstd: number, rows: number, dim: number, eps: number): void;
  ln_backward(dy: number, xhat: number, invstd: number, gamma: number, dx: number, dgamma: number, dbeta: number, rows: number, dim: number,
    scratch: number): void;
  softmax_rows(x: number, y: number, rows: number, cols: number): void;
  softmax_rows_grad(y: number, dy: number, dx: number, rows: number, cols: number): void;
  bias_act(y: number, bias: number, rows: number, cols: number, hasBias: number, act: number): void;
}

/** A kernel's replacement: it answers the cases it handles and hands the rest to TF.js's own. */
export type KernelWrapper = (builtin: tf.KernelFunc, exportsFor: (backend: WasmBackendParts) => KernelExports) => tf.KernelFunc;

/** A kernel of the studio's own name (no TF.js kernel to fall back on), bound to the module's exports. */
export type KernelMaker = (exportsFor: (backend: WasmBackendParts) => KernelExports) => tf.KernelFunc;
