// The ONNX counterparts of src/model/layers.ts, transformer.ts and unfold.ts, in NCHW. Each emitter
// reads the model's weights (PyTorch layout, timm keys) and adds nodes named `<block>/<module path>/<Op>`,
// so the profiler can map onnxruntime's per-node timings back onto the studio's blocks.
import { BN_EPS, LN_EPS } from '../model/layers.ts';
import type { TensorMap, NamedTensor } from '../model/safetensors.ts';
import type { OnnxGraph } from './onnx-graph.ts';

export type Act = 'silu' | 'relu6' | 'relu' | 'none';

/** What every emitter works with: the graph, the weights, and the block the nodes belong to. */
export interface EmitCtx {
  g: OnnxGraph;
  weights: TensorMap;
}

export function tensor(ctx: EmitCtx, key: string): NamedTensor {
  const t = ctx.weights.get(key);
  if (!t) throw new Error(`ONNX export: the model has no parameter ${key}`);
  return t;
}

export function activation(ctx: EmitCtx, x: string, act: Act, name: string): string {
  if (act === 'silu') return ctx.g.op('Mul', [x, ctx.g.op('Sigmoid', [x], `${name}/Sigmoid`)], `${name}/Mul`);
  if (act === 'relu6') return ctx.g.op('Clip', [x, ctx.g.scalar('const_zero', 0), ctx.g.scalar('const_six', 6)], `${name}/Clip`);
  if (act === 'relu') return ctx.g.op('Relu', [x], `${name}/Relu`);
  return x;
}

export interface ConvOpts {
  stride: number;
  depthwise?: boolean;
  /** Atrous rate (DeepLabv3's ASPP): the padding grows with it, as the studio's conv pads dilation·(k−1)/2. */
  dilation?: number;
  act: Act;
}

/**
 * Conv (`convKey`.weight, OIHW) with the BatchNorm at `bnKey` folded into its weight and bias, then the
 * activation. Without a BatchNorm the conv's own `convKey`.bias is used where the model has one. Padding is
 * symmetric dilation·(k−1)/2, as the studio pads before its 'valid' convolutions.
 */
export function convBn(ctx: EmitCtx, x: string, name: string, convKey: string, bnKey: string | null, o: ConvOpts): string {
  const w = tensor(ctx, `${convKey}.weight`);
  const [cout, cinPerGroup, kh, kw] = w.shape;
  const data = new Float32Array(w.data);
  const bias = new Float32Array(cout);
  if (bnKey !== null) {
    const gamma = tensor(ctx, `${bnKey}.weight`).data;
    const beta = tensor(ctx, `${bnKey}.bias`).data;
    const mean = tensor(ctx, `${bnKey}.running_mean`).data;
    const variance = tensor(ctx, `${bnKey}.running_var`).data;
    const per = cinPerGroup * kh * kw;
    for (let c = 0; c < cout; c++) {
      const scale = gamma[c] / Math.sqrt(variance[c] + BN_EPS);
      for (let i = 0; i < per; i++) data[c * per + i] *= scale;
      bias[c] = beta[c] - mean[c] * scale;
    }
  }
  const dilation = o.dilation ?? 1;
  const pad = dilation * ((kh - 1) >> 1);
  const convBias = bnKey === null ? ctx.weights.get(`${convKey}.bias`) : undefined;
  const inputs = [x, ctx.g.weight(`${name}.weight`, w.shape, data)];
  if (bnKey !== null) inputs.push(ctx.g.weight(`${name}.bias`, [cout], bias));
  else if (convBias) inputs.push(ctx.g.weight(`${name}.bias`, [cout], new Float32Array(convBias.data)));
  const y = ctx.g.op('Conv', inputs, `${name}/Conv`, {
    kernel_shape: [kh, kw], strides: [o.stride, o.stride], pads: [pad, pad, pad, pad], dilations: [dilation, dilation],
    group: o.depthwise ? cout : 1,
  });
  return activation(ctx, y, o.act, name);
}

/** A linear layer on the last axis: MatMul with the weight as [in, out], then Add of the bias. */
export function linear(ctx: EmitCtx, x: string, name: string, key: string): string {
  const w = tensor(ctx, `${key}.weight`); // PyTorch [out, in]
  const [dout, din] = w.shape;
  const wt = new Float32Array(din * dout);
  for (let o = 0; o < dout; o++) for (let i = 0; i < din; i++) wt[i * dout + o] = w.data[o * din + i];
  const b = tensor(ctx, `${key}.bias`);
  const y = ctx.g.op('MatMul', [x, ctx.g.weight(`${name}.weight`, [din, dout], wt)], `${name}/MatMul`);
  return ctx.g.op('Add', [y, ctx.g.weight(`${name}.bias`, [dout], new Float32Array(b.data))], `${name}/Add`);
}

/** LayerNorm over the last axis: the LayerNormalization op from opset 17, its decomposition before. */
export function layerNorm(ctx: EmitCtx, x: string, name: string, key: string): string {
  const { g } = ctx;
  const gamma = g.weight(`${name}.weight`, tensor(ctx, `${key}.weight`).shape, new Float32Array(tensor(ctx, `${key}.weight`).data));
  const beta = g.weight(`${name}.bias`, tensor(ctx, `${key}.bias`).shape, new Float32Array(tensor(ctx, `${key}.bias`).data));
  if (g.opset >= 17) return g.op('LayerNormalization', [x, gamma, beta], `${name}/LayerNormalization`, { axis: -1, epsilon: { float: LN_EPS } });
  const mean = g.op('ReduceMean', [x], `${name}/ReduceMean`, { axes: [-1], keepdims: 1 });
  const centred = g.op('Sub', [x, mean], `${name}/Sub`);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred], `${name}/Square`)], `${name}/ReduceMeanVar`, { axes: [-1], keepdims: 1 });
  const std = g.op('Sqrt', [g.op('Add', [variance, g.scalar('const_ln_eps', LN_EPS)], `${name}/AddEps`)], `${name}/Sqrt`);
  const normed = g.op('Div', [centred, std], `${name}/Div`);
  return g.op('Add', [g.op('Mul', [normed, gamma], `${name}/MulGamma`), beta], `${name}/AddBeta`);
}

/**
 * Bilinear resize of NCHW `x` to [h, w] with half-pixel centres (PyTorch's align_corners=False, the
 * studio's resizeBilinear). The sizes input keeps the batch dimension dynamic: Shape → Slice → Concat.
 */
export function resizeBilinear(ctx: EmitCtx, x: string, name: string, h: number, w: number): string {
  const { g } = ctx;
  const shape = g.op('Shape', [x], `${name}/Shape`);
  const nc = g.op('Slice', [shape, g.int64([0]), g.int64([2]), g.int64([0])], `${name}/Slice`);
  const sizes = g.op('Concat', [nc, g.int64([h, w])], `${name}/Concat`, { axis: 0 });
  return g.op('Resize', [x, '', '', sizes], `${name}/Resize`, { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
}

export interface Grid {
  rows: number;
  cols: number;
  patch: [number, number];
  featureSize: [number, number];
}

/**
 * NCHW [B, C, H, W] → patches [B·P, N, C], the studio's token order: row b·P + (i·pw + j), token r·cols + c
 * holds pixel (r·ph + i, c·pw + j). Resized up to a multiple of the patch first when needed.
 */
export function unfold(ctx: EmitCtx, x: string, name: string, channels: number, grid: Grid): string {
  const { g } = ctx;
  const [ph, pw] = grid.patch;
  const { rows, cols } = grid;
  const [h, w] = grid.featureSize;
  const src = h !== rows * ph || w !== cols * pw ? resizeBilinear(ctx, x, name, rows * ph, cols * pw) : x;
  const six = g.op('Reshape', [src, g.int64([-1, channels, rows, ph, cols, pw])], `${name}/Reshape`);
  const t = g.op('Transpose', [six], `${name}/Transpose`, { perm: [0, 3, 5, 2, 4, 1] });
  return g.op('Reshape', [t, g.int64([-1, rows * cols, channels])], `${name}/Reshape_1`);
}

/** The inverse of unfold: [B·P, N, C] → NCHW [B, C, H, W] at the grid's feature size. */
export function fold(ctx: EmitCtx, x: string, name: string, channels: number, grid: Grid): string {
  const { g } = ctx;
  const [ph, pw] = grid.patch;
  const { rows, cols } = grid;
  const six = g.op('Reshape', [x, g.int64([-1, ph, pw, rows, cols, channels])], `${name}/Reshape`);
  const t = g.op('Transpose', [six], `${name}/Transpose`, { perm: [0, 5, 3, 1, 4, 2] });
  const y = g.op('Reshape', [t, g.int64([-1, channels, rows * ph, cols * pw])], `${name}/Reshape_1`);
  const [h, w] = grid.featureSize;
  return h !== rows * ph || w !== cols * pw ? resizeBilinear(ctx, y, name, h, w) : y;
}

/** Global average pooling → flatten: the pooled features [batch, channels] the classifier takes (Model.features). */
export function pooledFeatures(ctx: EmitCtx, x: string, name: string): string {
  const pooled = ctx.g.op('GlobalAveragePool', [x], `${name}/GlobalAveragePool`);
  return ctx.g.op('Flatten', [pooled], `${name}/Flatten`, { axis: 1 });
}

/** What a network ends in: the classifier (an export), or the pooled features alone (ort-features.ts). */
export type Head = (ctx: EmitCtx, x: string, name: string, key: string) => string;

/** Global average pooling → flatten → the classifier as Gemm with PyTorch's [classes, features] weight. */
export function classifier(ctx: EmitCtx, x: string, name: string, key: string): string {
  const { g } = ctx;
  const flat = pooledFeatures(ctx, x, name);
  const w = tensor(ctx, `${key}.weight`);
  const b = tensor(ctx, `${key}.bias`);
  return g.op('Gemm', [flat, g.weight(`${name}.weight`, w.shape, new Float32Array(w.data)), g.weight(`${name}.bias`, b.shape, new Float32Array(b.data))],
    `${name}/Gemm`, { transB: 1 });
}
