// Conv2D and FusedConv2D with a 1×1 filter (the pointwise convolutions of the inverted residuals and MobileViT
// blocks) on the studio's GEMM (kernels/batch-matmul.c): in NHWC with stride 1 and no padding it is
// y[pixels, co] = x[pixels, ci] · w[ci, co], both operands and the output where TF.js keeps them; the fused
// kernel's bias and relu/relu6 (inference, BatchNorm folded in) follow in one pass (kernels/bias-act.c).
// XNNPACK, TF.js's kernel, packs the filter anew whenever the filter tensor changes (every training step, every
// folded inference pass) and ran 1.27–1.55× slower on every XXS 1×1 shape (docs/measured.md, "The GEMM").
// Strides, dilations, padding, NCHW, wider filters and other activations stay with TF.js's kernel (no model
// has a strided 1×1 convolution).
import * as tf from '@tensorflow/tfjs';
import { FUSED_ACT_CODES, type KernelWrapper } from './simd-kernel-types.ts';
import { batchMatMulScratchBytes } from './simd-batch-matmul.ts';
import { offsetOf, wasmBackendOf, withScratch } from '../util/wasm-memory.ts';

type Shape4 = [number, number, number, number];
interface Conv2DAttrs {
  strides: number | [number, number]; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW'; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

const ones = (v: number | [number, number] | undefined) => (Array.isArray(v) ? v : [v ?? 1, v ?? 1]).every((d) => d === 1);

/** Whether Conv2D(x, filter) is the plain product this kernel computes. */
function isPlainProduct(x: tf.TensorInfo, filter: tf.TensorInfo, a: Conv2DAttrs): boolean {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return false;
  const [fh, fw, ci] = filter.shape;
  if (fh !== 1 || fw !== 1 || ci !== x.shape[3] || !ones(a.strides) || !ones(a.dilations) || (a.dataFormat ?? 'NHWC') !== 'NHWC') return false;
  // A numeric or explicit padding above 0 adds a border of bias-free zeros: TF.js's kernel draws it.
  let p: tf.backend_util.PadInfo;
  try {
    p = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode).padInfo;
  } catch {
    return false; // TF.js's kernel gives its own error
  }
  return p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
}

/**
 * Conv2D and FusedConv2D (a float32 bias of the output channels' size, linear/relu/relu6); everything but the 1×1,
 * stride-1, unpadded NHWC product goes to TF.js's own kernel.
 */
export const pointwiseConvKernel: KernelWrapper = (builtin, exportsFor) => (args) => {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as Conv2DAttrs;
  const act = FUSED_ACT_CODES[a.activation ?? 'linear'];
  const co = filter!.shape[3];
  if (act === undefined || preluActivationWeights || (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== co))
    || !isPlainProduct(x!, filter!, a)) return builtin(args);
  const [n, h, w, ci] = x!.shape;
  const pixels = n * h * w;
  if (pixels * ci * co === 0) return builtin(args);
  const backend = wasmBackendOf(args);
  const kernels = exportsFor(backend);
  const out = backend.makeOutput([n, h, w, co], 'float32');
  withScratch(backend, batchMatMulScratchBytes(ci, co, false, false), (scratch) => kernels.batch_matmul(offsetOf(backend, x!), offsetOf(backend, filter!),
    offsetOf(backend, out), 1, 1, 1, pixels, ci, co, 0, 0, scratch));
  if (bias || act) kernels.bias_act(offsetOf(backend, out), bias ? offsetOf(backend, bias) : 0, pixels, co, bias ? 1 : 0, act);
  return out;
};
