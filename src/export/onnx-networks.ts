// The two networks as ONNX, block for block in the order src/model builds them (mobilevit.ts,
// mobilenetv2.ts, transformer.ts). Node names start with the studio's block name (timm's module path).
import { type MobileNetV2Variant, type MobileViTVariant, type Variant, type ViTSpec } from '../model/variants.ts';
import { patchGrid } from '../model/unfold.ts';
import { classifier, convBn, fold, layerNorm, linear, unfold, type EmitCtx, type Head } from './onnx-layers.ts';

/** Spatial size tracker: (H + 2p − k)/s + 1 for the studio's symmetric-padded convolutions. */
const convOut = (size: number, k: number, s: number) => Math.floor((size + 2 * ((k - 1) >> 1) - k) / s) + 1;

/** A feature map and its spatial size, as the emitters pass it along. */
export interface State {
  x: string;
  h: number;
  w: number;
}

/** The MV2 inverted residual (the expansion is in the weights' shapes). */
function mv2(ctx: EmitCtx, st: State, key: string, cin: number, cout: number, stride: number): State {
  const residual = stride === 1 && cin === cout;
  let y = convBn(ctx, st.x, `${key}/conv1_1x1`, `${key}.conv1_1x1.conv`, `${key}.conv1_1x1.bn`, { stride: 1, act: 'silu' });
  y = convBn(ctx, y, `${key}/conv2_kxk`, `${key}.conv2_kxk.conv`, `${key}.conv2_kxk.bn`, { stride, depthwise: true, act: 'silu' });
  y = convBn(ctx, y, `${key}/conv3_1x1`, `${key}.conv3_1x1.conv`, `${key}.conv3_1x1.bn`, { stride: 1, act: 'none' });
  if (residual) y = ctx.g.op('Add', [st.x, y], `${key}/Add`);
  return { x: y, h: convOut(st.h, 3, stride), w: convOut(st.w, 3, stride) };
}

function transformerLayer(ctx: EmitCtx, x: string, name: string, key: string, v: ViTSpec, n: number): string {
  const { g } = ctx;
  const headDim = v.dim / v.heads;
  const qkv = linear(ctx, layerNorm(ctx, x, `${name}/norm1`, `${key}.norm1`), `${name}/attn/qkv`, `${key}.attn.qkv`);
  const heads = (part: number, perm: number[], label: string) => {
    const s = g.op('Slice', [qkv, g.int64([part * v.dim]), g.int64([(part + 1) * v.dim]), g.int64([2])], `${name}/attn/${label}/Slice`);
    const r = g.op('Reshape', [s, g.int64([-1, n, v.heads, headDim])], `${name}/attn/${label}/Reshape`);
    return g.op('Transpose', [r], `${name}/attn/${label}/Transpose`, { perm });
  };
  const q = g.op('Mul', [heads(0, [0, 2, 1, 3], 'q'), g.scalar(`${name}/attn/scale`, 1 / Math.sqrt(headDim))], `${name}/attn/q/Mul`);
  const kT = heads(1, [0, 2, 3, 1], 'k');
  const vv = heads(2, [0, 2, 1, 3], 'v');
  const weights = g.op('Softmax', [g.op('MatMul', [q, kT], `${name}/attn/scores/MatMul`)], `${name}/attn/Softmax`, { axis: -1 });
  const attended = g.op('Transpose', [g.op('MatMul', [weights, vv], `${name}/attn/context/MatMul`)], `${name}/attn/context/Transpose`, { perm: [0, 2, 1, 3] });
  const merged = g.op('Reshape', [attended, g.int64([-1, n, v.dim])], `${name}/attn/context/Reshape`);
  const y = g.op('Add', [x, linear(ctx, merged, `${name}/attn/proj`, `${key}.attn.proj`)], `${name}/Add`);
  const hidden = linear(ctx, layerNorm(ctx, y, `${name}/norm2`, `${key}.norm2`), `${name}/mlp/fc1`, `${key}.mlp.fc1`);
  const act = g.op('Mul', [hidden, g.op('Sigmoid', [hidden], `${name}/mlp/act/Sigmoid`)], `${name}/mlp/act/Mul`);
  return g.op('Add', [y, linear(ctx, act, `${name}/mlp/fc2`, `${key}.mlp.fc2`)], `${name}/Add_1`);
}

function mobilevitBlock(ctx: EmitCtx, st: State, key: string, channels: number, v: ViTSpec): State {
  let y = convBn(ctx, st.x, `${key}/conv_kxk`, `${key}.conv_kxk.conv`, `${key}.conv_kxk.bn`, { stride: 1, act: 'silu' });
  y = convBn(ctx, y, `${key}/conv_1x1`, `${key}.conv_1x1`, null, { stride: 1, act: 'none' });
  const grid = patchGrid(st.h, st.w, v.patch);
  let seq = unfold(ctx, y, `${key}/unfold`, v.dim, grid);
  for (let i = 0; i < v.depth; i++) seq = transformerLayer(ctx, seq, `${key}/transformer.${i}`, `${key}.transformer.${i}`, v, grid.rows * grid.cols);
  seq = layerNorm(ctx, seq, `${key}/norm`, `${key}.norm`);
  const folded = fold(ctx, seq, `${key}/fold`, v.dim, grid);
  const projected = convBn(ctx, folded, `${key}/conv_proj`, `${key}.conv_proj.conv`, `${key}.conv_proj.bn`, { stride: 1, act: 'silu' });
  const cat = ctx.g.op('Concat', [st.x, projected], `${key}/concat/Concat`, { axis: 1 });
  const out = convBn(ctx, cat, `${key}/conv_fusion`, `${key}.conv_fusion.conv`, `${key}.conv_fusion.bn`, { stride: 1, act: 'silu' });
  return { x: out, h: st.h, w: st.w };
}

/**
 * The stem and the five stages (src/model/mobilevit.ts addMobileViTBackbone) → each stage's output. Output stride
 * 16 runs the last stage's stride-2 MV2 block at stride 1, as DeepLabv3's backbone does (nothing dilated).
 */
export function emitMobileViTBackbone(ctx: EmitCtx, input: string, size: [number, number], v: MobileViTVariant, outputStride: 16 | 32 = 32): State[] {
  let st: State = {
    x: convBn(ctx, input, 'stem', 'stem.conv', 'stem.bn', { stride: 2, act: 'silu' }),
    h: convOut(size[0], 3, 2), w: convOut(size[1], 3, 2),
  };
  let cin = v.stemChannels;
  return v.stages.map((stage, si) => {
    const stride = outputStride === 16 && si === v.stages.length - 1 ? 1 : stage.stride;
    for (let bi = 0; bi < stage.depth; bi++) {
      st = mv2(ctx, st, `stages.${si}.${bi}`, cin, stage.channels, bi === 0 ? stride : 1);
      cin = stage.channels;
    }
    if (stage.vit) st = mobilevitBlock(ctx, st, `stages.${si}.${stage.depth}`, stage.channels, stage.vit);
    return st;
  });
}

export function emitMobileViT(ctx: EmitCtx, input: string, size: [number, number], v: MobileViTVariant, head: Head = classifier): string {
  const last = emitMobileViTBackbone(ctx, input, size, v).at(-1)!;
  const feat = convBn(ctx, last.x, 'final_conv', 'final_conv.conv', 'final_conv.bn', { stride: 1, act: 'silu' });
  return head(ctx, feat, 'head', 'head.fc');
}

export function emitMobileNetV2(ctx: EmitCtx, input: string, v: MobileNetV2Variant, head: Head = classifier): string {
  let x = convBn(ctx, input, 'conv_stem', 'conv_stem', 'bn1', { stride: 2, act: 'relu6' });
  let cin = v.stemChannels;
  v.stages.forEach((stage, si) => {
    for (let bi = 0; bi < stage.depth; bi++) {
      const key = `blocks.${si}.${bi}`;
      const stride = bi === 0 ? stage.stride : 1;
      const residual = stride === 1 && cin === stage.channels;
      let y: string;
      if (si === 0) {
        y = convBn(ctx, x, `${key}/conv_dw`, `${key}.conv_dw`, `${key}.bn1`, { stride, depthwise: true, act: 'relu6' });
        y = convBn(ctx, y, `${key}/conv_pw`, `${key}.conv_pw`, `${key}.bn2`, { stride: 1, act: 'none' });
      } else {
        y = convBn(ctx, x, `${key}/conv_pw`, `${key}.conv_pw`, `${key}.bn1`, { stride: 1, act: 'relu6' });
        y = convBn(ctx, y, `${key}/conv_dw`, `${key}.conv_dw`, `${key}.bn2`, { stride, depthwise: true, act: 'relu6' });
        y = convBn(ctx, y, `${key}/conv_pwl`, `${key}.conv_pwl`, `${key}.bn3`, { stride: 1, act: 'none' });
      }
      x = residual ? ctx.g.op('Add', [x, y], `${key}/Add`) : y;
      cin = stage.channels;
    }
  });
  const feat = convBn(ctx, x, 'conv_head', 'conv_head', 'bn2', { stride: 1, act: 'relu6' });
  return head(ctx, feat, 'classifier', 'classifier');
}

/** A classifier's graph, by its layer table's family (as model.ts builds the network), with `head` on its features. */
export function emitClassifier(ctx: EmitCtx, input: string, size: number, spec: Variant, head: Head = classifier): string {
  return spec.family === 'mobilevit' ? emitMobileViT(ctx, input, [size, size], spec, head) : emitMobileNetV2(ctx, input, spec, head);
}
