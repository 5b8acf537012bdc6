// Convolution filter gradients on the studio's SIMD kernels (kernels/depthwise-filter-grad.c,
// kernels/conv-filter-grad.c). TF.js wasm has neither; the composed ones (conv-grads.ts) transpose x and dy and
// convolve with an image-sized filter, which XNNPACK runs slowly (XXS at 128 px, batch 32: the depthwise one
// 274 ms of a 2.6 s step in tf.profile). Depthwise multipliers above 1, dilations and NCHW stay composed.
import * as tf from '@tensorflow/tfjs';
import type { KernelWrapper } from './simd-kernel-types.ts';
import { batchMatMulScratchBytes } from './simd-batch-matmul.ts';
import { offsetOf, wasmBackendOf, withScratch } from '../util/wasm-memory.ts';

type FilterGradAttrs = {
  strides: number | [number, number]; pad: 'valid' | 'same' | number; dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number]; dataFormat?: string;
};

export const conv2dFilterGradKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as FilterGradAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')) return builtin(args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const [b, h, w, ci] = x.shape;
  const co = a.filterShape[3];
  if (a.filterShape[2] !== ci || dy.shape.join() !== [b, info.outHeight, info.outWidth, co].join()) return builtin(args);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(a.filterShape, 'float32');
  exportsFor(backend).conv_filter_grad(offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out), b, h, w, ci, info.outHeight, info.outWidth, co,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return out;
};

/**
 * The input gradient of a convolution at stride 1 (every one in MobileViT and MobileNetV2 whose input needs it): a 1×1 unpadded
 * one as one product dy·Wᵀ on the studio's matmul ([pixels, cout]·[cin, cout]ᵀ), called directly rather than
 * through tf.matMul, whose dispatch cost 5-10 % of these products; a larger one by kernels/conv-input-grad.c
 * (input channels in 4s). Composed from TF.js's kernels each is a reversed, transposed filter and a convolution of
 * a padded dy (1.4-2.8× slower on the XXS's 3×3s). Strides, NCHW and other channel counts stay composed
 * (conv-grads.ts).
 */
export const convInputGradKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as { strides: number | [number, number]; pad: 'valid' | 'same' | number; inputShape: [number, number, number, number];
    dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat?: string };
  const [kh, kw, ci, co] = filter.shape;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')) return builtin(args);
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode);
  const [b, h, w] = a.inputShape;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || a.inputShape[3] !== ci || dy.shape.join() !== [b, info.outHeight, info.outWidth, co].join()) return builtin(args);
  // A 1×1 at stride 1 is one product where nothing is padded (dy as large as x; padding after only makes it larger).
  const pointwise = kh === 1 && kw === 1 && info.outHeight === h && info.outWidth === w;
  if (!pointwise && ci % 4 !== 0) return builtin(args);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(a.inputShape, 'float32');
  const rows = b * h * w;
  if (rows === 0) return out;
  const kernels = exportsFor(backend);
  if (pointwise) {
    withScratch(backend, batchMatMulScratchBytes(co, ci, false, true), (scratch) =>
      kernels.batch_matmul(offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, out), 1, 1, 1, rows, co, ci, 0, 1, scratch));
    return out;
  }
  // dy in a zero border of kh−1 rows and kw−1 columns, then the filter transposed per tap (conv-input-grad.c).
  const paddedFloats = b * (h + kh - 1) * (w + kw - 1) * co;
  withScratch(backend, (paddedFloats + kh * kw * ci * co) * 4, (scratch) =>
    kernels.conv_input_grad(offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, out), b, h, w, ci, info.outHeight, info.outWidth, co,
      kh, kw, info.padInfo.top, info.padInfo.left, scratch, scratch + paddedFloats * 4));
  return out;
};

export const depthwiseFilterGradKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as FilterGradAttrs;
  const dil = a.dilations ?? 1;
  const dilated = (Array.isArray(dil) ? dil : [dil, dil]).some((d) => d !== 1);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || a.filterShape[3] !== 1 || dilated
    || (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')) return builtin(args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, true);
  const [b, h, w, c] = x.shape;
  if (dy.shape.join() !== [b, info.outHeight, info.outWidth, c].join()) return builtin(args); // its own error names the shapes
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(a.filterShape, 'float32');
  exportsFor(backend).depthwise_filter_grad(offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out), b, h, w, c, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return out;
};
