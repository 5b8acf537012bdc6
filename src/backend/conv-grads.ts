// Convolution gradients for the wasm backend, composed from kernels it has and runs fast.
//
// wasm lacks Conv2DBackpropFilter and both depthwise gradients, and its own Conv2DBackpropInput is a
// plain loop: 4-13x slower than the same work done by its forward conv on MobileViT's layer shapes. design.md suggested im2col (strided
// slices + concat) then matMul; measured on wasm, the slices and the inner-axis concat cost five times
// the convolution itself, and a matMul with transposeA is ten times slower than one without. The
// formulations below instead hand the heavy work to wasm's forward convolutions (XNNPACK) — a filter
// gradient is itself a convolution of the input with the output gradient, an input gradient a
// convolution of the dilated output gradient with the flipped filter — and spend only a few transposes,
// pads and reshapes around them.
//
// Every function runs inside tf.tidy and returns one new tensor; the inputs are not disposed.
import * as tf from '@tensorflow/tfjs';
import { transposedMatMulIsFast } from '../util/kernel-traits.ts';

export type ConvPad = 'valid' | 'same' | number | number[][];

export interface ConvGradParams {
  strides: number | [number, number];
  pad: ConvPad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

interface Geometry {
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/** Stride, leading padding and output size of a conv, as the forward kernel computes them. */
function geometry(
  xShape: number[], filterShape: number[], p: ConvGradParams, depthwise: boolean, dyShape: number[], op: string,
): Geometry {
  const dil = p.dilations ?? 1;
  if (!(Array.isArray(dil) ? dil : [dil, dil]).every((d) => d === 1)) {
    throw new Error(`${op}: only dilation 1 is supported, got ${JSON.stringify(dil)}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    p.strides, 1, p.pad as 'valid', p.dimRoundingMode, depthwise,
  );
  if (info.outHeight !== dyShape[1] || info.outWidth !== dyShape[2]) {
    throw new Error(`${op}: dy is ${dyShape[1]}x${dyShape[2]} but the conv of ${xShape} gives ` +
      `${info.outHeight}x${info.outWidth}`);
  }
  return {
    strideH: info.strideHeight, strideW: info.strideWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
    outH: info.outHeight, outW: info.outWidth,
  };
}

/** Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  let out = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t = Math.max(0, -top), l = Math.max(0, -left);
    out = tf.slice(out, [0, t, l, 0], [b, h - t - Math.max(0, -bottom), w - l - Math.max(0, -right), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    out = tf.pad(out, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  }
  return out;
}

/**
 * The input rows/cols the conv actually reads, padding included: (out-1)·stride + kernel of them, starting
 * at -padTop / -padLeft. Trailing rows a strided conv never reaches are cropped, trailing padding is added.
 */
function windowedInput(x: tf.Tensor4D, kh: number, kw: number, g: Geometry): tf.Tensor4D {
  const usedH = (g.outH - 1) * g.strideH + kh, usedW = (g.outW - 1) * g.strideW + kw;
  const [, h, w] = x.shape;
  return padOrCrop(x, g.padTop, usedH - g.padTop - h, g.padLeft, usedW - g.padLeft - w);
}

/**
 * dL/dW of conv2d, NHWC: dW[i,j,ci,co] = Σ_{b,oh,ow} x[b, oh·s+i, ow·s+j, ci] · dy[b,oh,ow,co].
 * That is a valid convolution of x (batch ↔ channels swapped: [ci, H, W, b]) with dy used as the filter
 * ([oh, ow, b, co]), dilated by the stride; its output is [ci, kh, kw, co]. A 1×1 filter is a plain
 * xᵀ·dy (2.5x faster than the convolution there).
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], p: ConvGradParams,
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const g = geometry(x.shape, filterShape, p, false, dy.shape, 'Conv2DBackpropFilter');
  return tf.tidy(() => {
    const xw = windowedInput(x, kh, kw, g);
    if (kh === 1 && kw === 1) {
      const xs = g.strideH > 1 || g.strideW > 1 ? tf.stridedSlice(xw, [0, 0, 0, 0], xw.shape, [1, g.strideH, g.strideW, 1]) : xw;
      const rows = dy.shape[0] * g.outH * g.outW;
      const x2 = tf.reshape(xs, [rows, ci]) as tf.Tensor2D;
      // With the studio's matmul kernel, xᵀ·dy needs no transposed copy of x (util/kernel-traits.ts).
      const product = transposedMatMulIsFast(tf.getBackend()) ? tf.matMul(x2, tf.reshape(dy, [rows, co]), true, false)
        : tf.matMul(tf.transpose(x2), tf.reshape(dy, [rows, co]));
      return product.reshape(filterShape) as tf.Tensor4D;
    }
    const xT = tf.transpose(xw, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const w = tf.conv2d(xT, dyAsFilter, 1, 'valid', 'NHWC', [g.strideH, g.strideW]);
    return tf.transpose(w, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * The output gradient laid out so that a stride-1 'valid' convolution with the spatially flipped filter
 * yields the input gradient (the "transposed convolution"): dy dilated by the stride (zeros between its
 * pixels: a pad of a [b, oh, 1, ow, 1, c] view), then padded — or cropped — so that input row r gathers
 * dy rows (r + padTop − i)/s for filter taps i, and the result is exactly h × w.
 */
function dilatedPaddedDy(dy: tf.Tensor4D, h: number, w: number, kh: number, kw: number, g: Geometry): tf.Tensor4D {
  const [b, oh, ow, c] = dy.shape;
  let dyDil = dy;
  if (g.strideH > 1 || g.strideW > 1) {
    const zeros = [[0, 0], [0, 0], [0, g.strideH - 1], [0, 0], [0, g.strideW - 1], [0, 0]] as Array<[number, number]>;
    dyDil = tf.pad(tf.reshape(dy, [b, oh, 1, ow, 1, c]), zeros).reshape([b, oh * g.strideH, ow * g.strideW, c]);
  }
  const [dh, dw] = [dyDil.shape[1], dyDil.shape[2]];
  return padOrCrop(dyDil, kh - 1 - g.padTop, h + g.padTop - dh, kw - 1 - g.padLeft, w + g.padLeft - dw);
}

/** dL/dx of conv2d, NHWC: the dilated, padded dy convolved with the flipped filter, in/out channels swapped. */
export function conv2dInputGrad(
  inputShape: [number, number, number, number], dy: tf.Tensor4D, filter: tf.Tensor4D, p: ConvGradParams,
): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const g = geometry(inputShape, filter.shape, p, false, dy.shape, 'Conv2DBackpropInput');
  return tf.tidy(() => {
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dilatedPaddedDy(dy, inputShape[1], inputShape[2], kh, kw, g), flipped, 1, 'valid');
  });
}

/**
 * dL/dW of depthwiseConv2d with channel multiplier m: dW[i,j,c,k] = Σ_{b,oh,ow} x[b,oh·s+i,ow·s+j,c] ·
 * dy[b,oh,ow,c·m+k]. Folding batch into channels ([1, H, W, b·c]) makes it a depthwise convolution of x
 * with dy as a [oh, ow, b·c, m] filter, dilated by the stride; the batch is then summed out.
 */
export function depthwiseFilterGrad(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], p: ConvGradParams,
): tf.Tensor4D {
  const [kh, kw, c, m] = filterShape;
  const b = x.shape[0];
  const g = geometry(x.shape, filterShape, p, true, dy.shape, 'DepthwiseConv2dNativeBackpropFilter');
  return tf.tidy(() => {
    const xw = windowedInput(x, kh, kw, g);
    const xFolded = tf.reshape(tf.transpose(xw, [1, 2, 0, 3]), [1, xw.shape[1], xw.shape[2], b * c]) as tf.Tensor4D;
    // [b, oh, ow, c·m] → [oh, ow, b, c·m]; its last two axes flatten as (b·c + ci)·m + k, i.e. [oh, ow, b·c, m].
    const dyAsFilter = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [g.outH, g.outW, b * c, m]) as tf.Tensor4D;
    const w = tf.depthwiseConv2d(xFolded, dyAsFilter, 1, 'valid', 'NHWC', [g.strideH, g.strideW]);
    return tf.sum(tf.reshape(w, [kh, kw, b, c, m]), 2).reshape([kh, kw, c, m]) as tf.Tensor4D;
  });
}

/**
 * dL/dx of depthwiseConv2d: the transposed convolution as for conv2d, per channel. With multiplier m each
 * input channel gathers m output channels: convolve all c·m channels separately, then sum each group of m.
 */
export function depthwiseInputGrad(
  inputShape: [number, number, number, number], dy: tf.Tensor4D, filter: tf.Tensor4D, p: ConvGradParams,
): tf.Tensor4D {
  const [b, h, w, c] = inputShape;
  const [kh, kw, , m] = filter.shape;
  const g = geometry(inputShape, filter.shape, p, true, dy.shape, 'DepthwiseConv2dNativeBackpropInput');
  return tf.tidy(() => {
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const dx = tf.depthwiseConv2d(dilatedPaddedDy(dy, h, w, kh, kw, g), flipped, 1, 'valid');
    return (m === 1 ? dx : tf.sum(tf.reshape(dx, [b, h, w, c, m]), 4)) as tf.Tensor4D;
  });
}
