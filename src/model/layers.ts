// The building blocks every variant is made of. Each builder registers its parameters under timm's
// keys and returns a function of (input, context). Convolutions pad every side by (k−1)/2, as PyTorch
// does (a pad number, not TF's 'same', which pads only bottom/right on stride 2).
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, layerNormLastAxis, silu, type Activation } from './custom-grads.ts';
import { atrousConvTaps } from './atrous.ts';
import { applyDropout } from './dropout.ts';
import { affine } from './matmul.ts';
import { transposedMatMulIsFast } from '../util/kernel-traits.ts';
import type { ParamStore } from './params.ts';
import type { ForwardOptions } from './types.ts';

export const BN_EPS = 1e-5;
export const LN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export type { Activation };
export type Ctx = Required<Pick<ForwardOptions, 'training'>> & ForwardOptions;
export type Apply<I extends tf.Tensor = tf.Tensor, O extends tf.Tensor = tf.Tensor> = (x: I, ctx: Ctx) => O;

export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  if (act === 'silu') return silu(x);
  if (act === 'relu6') return tf.relu6(x);
  if (act === 'relu') return tf.relu(x);
  return x;
}

/** Dropout in training (model/dropout.ts), its mask seeded from the pass's seeds; `maskShape` as applyDropout's. */
export function dropout<T extends tf.Tensor>(x: T, rate: number, ctx: Ctx, maskShape?: number[]): T {
  if (!ctx.training || rate <= 0) return x;
  return applyDropout(x, rate, ctx.nextSeed?.(), maskShape);
}

export interface ConvSpec {
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  depthwise?: boolean;
  bias?: boolean;
  /** Atrous rate (DeepLabv3's ASPP); the padding grows with it so the map keeps its size at stride 1. */
  dilation?: number;
}

/** He-normal with fan_out, as timm initialises every conv. */
function convInit(s: ConvSpec) {
  const fanOut = (s.kernel * s.kernel * s.cout) / (s.depthwise ? s.cout : 1);
  return { kind: 'normal' as const, std: Math.sqrt(2 / fanOut) };
}

/** A convolution's parameters and shape, for the inference path that folds BatchNorm into it. */
interface ConvParts {
  spec: ConvSpec;
  weight: tf.Variable;
  pad: number;
  dilation: number;
}

/** A bias-free (by default) convolution stored at `key` in HWIO (or HWC1 for depthwise). */
export function conv(store: ParamStore, key: string, s: ConvSpec): Apply<tf.Tensor4D, tf.Tensor4D> {
  const parts = convParams(store, key, s);
  const b = s.bias ? store.add(`${key}.bias`, [s.cout], 'vector', { kind: 'zeros' }) : undefined;
  return (x, ctx) => runConv(parts, x, parts.weight as tf.Tensor4D, b, 'linear', ctx);
}

function convParams(store: ParamStore, key: string, s: ConvSpec): ConvParts {
  const shape = s.depthwise ? [s.kernel, s.kernel, s.cin, 1] : [s.kernel, s.kernel, s.cin, s.cout];
  const weight = store.add(`${key}.weight`, shape, s.depthwise ? 'dwconv' : 'conv', convInit(s));
  const dilation = s.dilation ?? 1;
  return { spec: s, weight, pad: dilation * ((s.kernel - 1) >> 1), dilation };
}

const addBias = (y: tf.Tensor4D, bias: tf.Tensor | undefined): tf.Tensor4D => (bias ? tf.add(y, bias) : y);

/**
 * Whether an inference 1×1 convolution runs as a matrix product: where the studio's matmul kernel runs
 * (util/kernel-traits.ts) and the map is at most 32×32. Its filter is a new tensor at every pass (BatchNorm
 * folded in), and XNNPACK packs a new filter again at every call: on the late stages' small maps and wide
 * filters that packing costs more than the product (MobileNetV2's 8×8 160→960: 1.7 ms as a conv, 0.8 as a
 * product; at 128×128 16→96 the conv stays faster, 1.6 against 2.0).
 */
function pointwiseAsProduct(s: ConvSpec, x: tf.Tensor4D): boolean {
  return s.kernel === 1 && s.stride === 1 && !s.depthwise && x.shape[1] * x.shape[2] <= 32 * 32 && transposedMatMulIsFast(tf.getBackend());
}

/** A 1×1 convolution as [pixels, cin]·[cin, cout], plus the bias and activation. */
function pointwiseProduct(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | undefined, activation: FusedActivation): tf.Tensor4D {
  const [n, h, w, cin] = x.shape;
  const cout = filter.shape[3];
  const y = addBias(tf.matMul(x.reshape([n * h * w, cin]) as tf.Tensor2D, filter.reshape([cin, cout]) as tf.Tensor2D).reshape([n, h, w, cout]) as tf.Tensor4D, bias);
  return applyActivation(y, activation);
}

const applyActivation = (y: tf.Tensor4D, activation: FusedActivation): tf.Tensor4D =>
  activation === 'linear' ? y : activate(y, activation) as tf.Tensor4D;

/** The activations the fused conv kernels apply themselves. */
type FusedActivation = 'linear' | 'relu6' | 'relu';

/** Convolves with PyTorch's padding, adds the bias and a fusable activation (in one kernel outside training). */
function runConv(c: ConvParts, x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | undefined,
  activation: FusedActivation, ctx: Ctx): tf.Tensor4D {
  const s = c.spec;
  // PyTorch's symmetric zero padding, as the conv's own padding (no padded copy of x; the gradient kernels
  // then never crop a padded copy either).
  const dilations = c.dilation;
  const args = { x, filter, strides: s.stride, pad: c.pad, dilations, bias, activation };
  // Training takes the plain ops: their gradient computes dx only where something upstream needs it, where the
  // fused ops' computes dx and the filter gradient together (for the stem: an image gradient nobody reads,
  // 53 + 36 ms of an XXS step at 128 px, batch 32, on wasm).
  // A dilated convolution trains (or is differentiated) as per-tap products (atrous.ts): TF.js has no gradient for dilation.
  const y = (ctx.training || ctx.differentiable) && dilations > 1 && !s.depthwise
    ? applyActivation(addBias(atrousConvTaps(x, filter, s.stride, c.pad, dilations), bias), activation)
    : ctx.training && activation === 'linear'
    ? addBias(s.depthwise ? tf.depthwiseConv2d(x, filter, s.stride, c.pad, 'NHWC', dilations) : tf.conv2d(x, filter, s.stride, c.pad, 'NHWC', dilations), bias)
    : pointwiseAsProduct(s, x) ? pointwiseProduct(x, filter, bias, activation)
      : s.depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
  const [n, h, wd] = y.shape;
  ctx.probe?.macs?.(n * h * wd * s.kernel * s.kernel * (s.depthwise ? 1 : s.cin) * s.cout);
  return y;
}

interface BatchNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
}

function batchNormParams(store: ParamStore, key: string, channels: number, zeroGamma: boolean): BatchNormParams {
  return {
    gamma: store.add(`${key}.weight`, [channels], 'vector', { kind: zeroGamma ? 'zeros' : 'ones' }),
    beta: store.add(`${key}.bias`, [channels], 'vector', { kind: 'zeros' }),
    mean: store.add(`${key}.running_mean`, [channels], 'vector', { kind: 'zeros' }, false),
    variance: store.add(`${key}.running_var`, [channels], 'vector', { kind: 'ones' }, false),
  };
}

/**
 * Training-mode BatchNorm: normalises with the batch's statistics and moves the running ones by momentum
 * 0.1, with the unbiased variance, as PyTorch; the activation runs inside the BatchNorm op, which saves
 * memory (see batchNormTraining).
 */
function batchNormTrain(bn: BatchNormParams, channels: number, act: Activation, x: tf.Tensor): tf.Tensor {
  const n = x.size / channels;
  // The running statistics do not feed the loss, so updating them inside the forward pass is harmless.
  const onStats = (batchMean: tf.Tensor1D, batchVar: tf.Tensor1D) => tf.tidy(() => {
    const unbiased = tf.mul(batchVar, n / Math.max(1, n - 1));
    bn.mean.assign(tf.add(tf.mul(bn.mean, 1 - BN_MOMENTUM), tf.mul(batchMean, BN_MOMENTUM)));
    bn.variance.assign(tf.add(tf.mul(bn.variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
  });
  return batchNormTraining(x, bn.gamma as tf.Tensor1D, bn.beta as tf.Tensor1D, { eps: BN_EPS, act, onStats });
}

/**
 * Conv → BatchNorm → activation, with the conv and BN at separate keys (timm has several naming styles).
 * In inference the BatchNorm is folded into the convolution: filter × γ/√(σ²+ε) and bias β − μ·γ/√(σ²+ε),
 * one fused kernel instead of a conv plus a pass over the activations. The fold is recomputed from the
 * current parameters at every call (a few thousand multiplies), so it is never stale after a load or a
 * training step.
 */
export function convBnAct(
  store: ParamStore, convKey: string, bnKey: string, s: ConvSpec, act: Activation, zeroGamma = false,
): Apply<tf.Tensor4D, tf.Tensor4D> {
  const c = convParams(store, convKey, s);
  const bn = batchNormParams(store, bnKey, s.cout, zeroGamma);
  return (x, ctx) => {
    if (ctx.training) return batchNormTrain(bn, s.cout, act, runConv(c, x, c.weight as tf.Tensor4D, undefined, 'linear', ctx)) as tf.Tensor4D;
    const [filter, bias] = tf.tidy(() => {
      const scale = tf.div(bn.gamma, tf.sqrt(tf.add(bn.variance, BN_EPS)));
      const shift = tf.sub(bn.beta, tf.mul(bn.mean, scale));
      // The output channel is the last axis of HWIO, the input channel (= output) the third of depthwise HWC1.
      const scaleShape = s.depthwise ? [1, 1, s.cout, 1] : [1, 1, 1, s.cout];
      return [tf.mul(c.weight, scale.reshape(scaleShape)) as tf.Tensor4D, shift];
    });
    try {
      const y = runConv(c, x, filter, bias, act === 'relu6' || act === 'relu' ? act : 'linear', ctx);
      if (act !== 'silu') return y;
      const out = silu(y) as tf.Tensor4D;
      y.dispose();
      return out;
    } finally {
      filter.dispose();
      bias.dispose();
    }
  };
}

/** timm's ConvNormAct naming: `<key>.conv.weight` and `<key>.bn.*`. */
export function convNormAct(store: ParamStore, key: string, s: ConvSpec, act: Activation, zeroGamma = false) {
  return convBnAct(store, `${key}.conv`, `${key}.bn`, s, act, zeroGamma);
}

/** LayerNorm over the last axis with a hand-written backward: tf.layers' version has a very slow one. */
export function layerNorm(store: ParamStore, key: string, dim: number): Apply {
  const gamma = store.add(`${key}.weight`, [dim], 'vector', { kind: 'ones' });
  const beta = store.add(`${key}.bias`, [dim], 'vector', { kind: 'zeros' });
  return (x) => layerNormLastAxis(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, LN_EPS);
}

export type LinearInit = { kind: 'normal'; std: number } | { kind: 'uniform'; limit: number };

/**
 * A linear layer at `key` whose output is `parts` equal blocks of features (attention's [q | k | v]), returned
 * as `parts` tensors. Either half of it copies something on wasm, so it copies the smaller: with more rows than
 * input features (training batches) each block is its own product with a slice of the weight's columns, rather
 * than one product whose output's last axis is then split (a strided copy that cost 226 ms of a 1.7 s XXS step
 * at 128 px, batch 32); with fewer (inference on one image, late stages) one product, then the split (slicing
 * MobileViT-S's [240, 720] weight cost 12.7 ms of a 172 ms pass). The same numbers either way.
 */
export function linearParts(store: ParamStore, key: string, din: number, parts: number, dout: number, init: LinearInit) {
  const w = store.add(`${key}.weight`, [din, parts * dout], 'linear', init);
  const b = store.add(`${key}.bias`, [parts * dout], 'vector', { kind: 'zeros' });
  return (x: tf.Tensor, ctx: Ctx): tf.Tensor[] => {
    const rows = x.size / din;
    ctx.probe?.macs?.(rows * din * parts * dout);
    if (rows < din) return tf.split(affine(x, w as tf.Tensor2D, b as tf.Tensor1D), parts, -1);
    return Array.from({ length: parts }, (_, p) =>
      affine(x, tf.slice(w, [0, p * dout], [din, dout]) as tf.Tensor2D, tf.slice(b, [p * dout], [dout]) as tf.Tensor1D));
  };
}

/**
 * A linear layer at `key` with weight stored [in, out]. Inputs of any rank are flattened to 2-D first:
 * batched matMul is slow on wasm, and the weight is shared across the batch anyway.
 */
export function linear(store: ParamStore, key: string, din: number, dout: number, init: LinearInit): Apply {
  const w = store.add(`${key}.weight`, [din, dout], 'linear', init);
  const b = store.add(`${key}.bias`, [dout], 'vector', { kind: 'zeros' });
  return (x, ctx) => {
    ctx.probe?.macs?.(x.size * dout);
    return affine(x, w as tf.Tensor2D, b as tf.Tensor1D);
  };
}
