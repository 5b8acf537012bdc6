// The building blocks every variant is made of. Each builder registers its parameters under timm's
// keys and returns a function of (input, context). Convolutions pad explicitly and run 'valid':
// TF's 'same' pads only bottom/right on stride 2, PyTorch pads every side.
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, layerNormLastAxis, matMul2d, silu, type Activation } from './custom-grads.ts';
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
  return x;
}

export function dropout<T extends tf.Tensor>(x: T, rate: number, ctx: Ctx): T {
  if (!ctx.training || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, ctx.nextSeed?.()) as T;
}

export interface ConvSpec {
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  depthwise?: boolean;
  bias?: boolean;
}

/** He-normal with fan_out, as timm initialises every conv. */
function convInit(s: ConvSpec) {
  const fanOut = (s.kernel * s.kernel * s.cout) / (s.depthwise ? s.cout : 1);
  return { kind: 'normal' as const, std: Math.sqrt(2 / fanOut) };
}

/** A bias-free (by default) convolution stored at `key` in HWIO (or HWC1 for depthwise). */
export function conv(store: ParamStore, key: string, s: ConvSpec): Apply<tf.Tensor4D, tf.Tensor4D> {
  const shape = s.depthwise ? [s.kernel, s.kernel, s.cin, 1] : [s.kernel, s.kernel, s.cin, s.cout];
  const w = store.add(`${key}.weight`, shape, s.depthwise ? 'dwconv' : 'conv', convInit(s));
  const b = s.bias ? store.add(`${key}.bias`, [s.cout], 'vector', { kind: 'zeros' }) : undefined;
  const pad = (s.kernel - 1) >> 1;
  return (x, ctx) => {
    const xp = pad ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    let y = s.depthwise
      ? tf.depthwiseConv2d(xp, w as tf.Tensor4D, s.stride, 'valid')
      : tf.conv2d(xp, w as tf.Tensor4D, s.stride, 'valid');
    if (b) y = tf.add(y, b);
    const [n, h, wd] = y.shape;
    ctx.probe?.macs?.(n * h * wd * s.kernel * s.kernel * (s.depthwise ? 1 : s.cin) * s.cout);
    return y;
  };
}

/**
 * BatchNorm at `key` (weight, bias, running_mean, running_var) followed by `act`. Training mode
 * normalises with the batch's statistics and moves the running ones by momentum 0.1, with the
 * unbiased variance, as PyTorch; there the activation runs inside the BatchNorm op, which saves
 * memory (see batchNormTraining).
 */
export function batchNormAct(store: ParamStore, key: string, channels: number, act: Activation, zeroGamma = false): Apply {
  const gamma = store.add(`${key}.weight`, [channels], 'vector', { kind: zeroGamma ? 'zeros' : 'ones' });
  const beta = store.add(`${key}.bias`, [channels], 'vector', { kind: 'zeros' });
  const mean = store.add(`${key}.running_mean`, [channels], 'vector', { kind: 'zeros' }, false);
  const variance = store.add(`${key}.running_var`, [channels], 'vector', { kind: 'ones' }, false);
  return (x, ctx) => {
    if (!ctx.training) return activate(tf.batchNorm(x, mean, variance, beta, gamma, BN_EPS), act);
    const n = x.size / channels;
    // The running statistics do not feed the loss, so updating them inside the forward pass is harmless.
    const onStats = (batchMean: tf.Tensor1D, batchVar: tf.Tensor1D) => tf.tidy(() => {
      const unbiased = tf.mul(batchVar, n / Math.max(1, n - 1));
      mean.assign(tf.add(tf.mul(mean, 1 - BN_MOMENTUM), tf.mul(batchMean, BN_MOMENTUM)));
      variance.assign(tf.add(tf.mul(variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
    return batchNormTraining(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, { eps: BN_EPS, act, onStats });
  };
}

/** Conv → BatchNorm → activation, with the conv and BN at separate keys (timm has several naming styles). */
export function convBnAct(
  store: ParamStore, convKey: string, bnKey: string, s: ConvSpec, act: Activation, zeroGamma = false,
): Apply<tf.Tensor4D, tf.Tensor4D> {
  const c = conv(store, convKey, s);
  const bn = batchNormAct(store, bnKey, s.cout, act, zeroGamma);
  return (x, ctx) => bn(c(x, ctx), ctx) as tf.Tensor4D;
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
 * A linear layer at `key` with weight stored [in, out]. Inputs of any rank are flattened to 2-D first:
 * batched matMul is slow on wasm, and the weight is shared across the batch anyway.
 */
export function linear(store: ParamStore, key: string, din: number, dout: number, init: LinearInit): Apply {
  const w = store.add(`${key}.weight`, [din, dout], 'linear', init);
  const b = store.add(`${key}.bias`, [dout], 'vector', { kind: 'zeros' });
  return (x, ctx) => {
    const lead = x.shape.slice(0, -1);
    const rows = lead.reduce((a, c) => a * c, 1);
    ctx.probe?.macs?.(rows * din * dout);
    const y = tf.add(matMul2d(x.reshape([rows, din]), w as tf.Tensor2D), b);
    return y.reshape([...lead, dout]);
  };
}
