// Depthwise convolution forward (plain and fused with bias and relu/relu6) and its input gradient on the
// studio's SIMD kernel (kernels/depthwise-conv.c). The forward replaces XNNPACK's, which TF.js sets up anew
// (packing the filter) whenever the filter tensor changes, i.e. every training step; the input gradient
// replaces the composed one of conv-grads.ts (a stride-dilated, padded copy of dy and a convolution).
// Channel multipliers above 1, dilations, channels not a multiple of 4, other activations and NCHW stay
// with TF.js's kernels.
import * as tf from '@tensorflow/tfjs';
import { FUSED_ACT_CODES, type KernelWrapper } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf, withScratch } from '../util/wasm-memory.ts';

type Shape4 = [number, number, number, number];
type DepthwiseAttrs = {
  strides: number | [number, number]; pad: 'valid' | 'same' | number; dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat?: string; activation?: string; inputShape?: Shape4;
};


/** The geometry when the kernel takes this case (float32 NHWC, multiplier 1, no dilation, channels in 4s), else null. */
function geometry(xShape: number[], filter: tf.TensorInfo, others: tf.TensorInfo[], a: DepthwiseAttrs): tf.backend_util.Conv2DInfo | null {
  const dil = a.dilations ?? 1;
  const dilated = (Array.isArray(dil) ? dil : [dil, dil]).some((d) => d !== 1);
  const [, , fc, m] = filter.shape;
  if (dilated || xShape.length !== 4 || filter.shape.length !== 4 || m !== 1 || fc !== xShape[3] || fc % 4 !== 0
    || [filter, ...others].some((t) => t.dtype !== 'float32') || (a.dataFormat !== undefined && a.dataFormat !== 'NHWC')) return null;
  return tf.backend_util.computeConv2DInfo(xShape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode, true);
}

/** DepthwiseConv2dNative and FusedDepthwiseConv2D (bias of the channels' size, linear/relu/relu6 only). */
export const depthwiseConvKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as DepthwiseAttrs;
  const act = FUSED_ACT_CODES[a.activation ?? 'linear'];
  const channels = x!.shape[3];
  const info = act === undefined || preluActivationWeights || (bias && tf.util.sizeFromShape(bias.shape) !== channels) ? null
    : geometry(x!.shape, filter!, bias ? [x!, bias] : [x!], a);
  if (!info) return builtin(args);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, channels], 'float32');
  exportsFor(backend).depthwise_conv(offsetOf(backend, x!), offsetOf(backend, filter!), bias ? offsetOf(backend, bias) : 0, offsetOf(backend, out),
    info.batchSize, info.inHeight, info.inWidth, channels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, bias ? 1 : 0, act);
  return out;
};

/** DepthwiseConv2dNativeBackpropInput; wraps the composed kernel of wasm-grad-kernels.ts, which keeps the rest. */
export const depthwiseInputGradKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as DepthwiseAttrs;
  const inputShape = a.inputShape!;
  const info = geometry(inputShape, filter, [dy], a);
  // A dy of another size: the composed kernel's error names the shapes.
  if (!info || dy.shape.join() !== [inputShape[0], info.outHeight, info.outWidth, inputShape[3]].join()) return builtin(args);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(inputShape, 'float32');
  // Scratch for the filter turned by 180° (the stride-1 case runs as a forward convolution with it).
  withScratch(backend, tf.util.sizeFromShape(filter.shape) * 4, (flipped) => exportsFor(backend).depthwise_input_grad(offsetOf(backend, dy),
    offsetOf(backend, filter), offsetOf(backend, out), info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight,
    info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, flipped));
  return out;
};
