// MobileViT (Mehta & Rastegari 2021) built from a variant table, with timm's module names:
// stem → stages.0..4 (MV2 blocks; stages 2–4 end in a MobileViT block) → final_conv → head.
import * as tf from '@tensorflow/tfjs';
import { BlockList, classifierHead } from './block.ts';
import { convNormAct, conv, layerNorm, type Ctx, type Apply } from './layers.ts';
import type { ParamStore } from './params.ts';
import { transformerLayer } from './transformer.ts';
import { fold, unfold } from './unfold.ts';
import { makeDivisible, type MobileViTVariant, type ViTSpec } from './variants.ts';
import type { BlockInfo, PartName } from './types.ts';

/** timm's BottleneckBlock with bottle_in + linear_out: the MobileNetV2 inverted residual. */
export function mv2Block(store: ParamStore, key: string, cin: number, cout: number, stride: number, expansion: number) {
  const mid = makeDivisible(cin * expansion);
  const residual = stride === 1 && cin === cout;
  const expand = convNormAct(store, `${key}.conv1_1x1`, { cin, cout: mid, kernel: 1, stride: 1 }, 'silu');
  const dw = convNormAct(store, `${key}.conv2_kxk`, { cin: mid, cout: mid, kernel: 3, stride, depthwise: true }, 'silu');
  // timm zero-initialises the last BN of residual blocks, so each starts as the identity.
  const reduce = convNormAct(store, `${key}.conv3_1x1`, { cin: mid, cout, kernel: 1, stride: 1 }, 'none', residual);
  return (x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D => {
    const y = reduce(dw(expand(x, ctx), ctx), ctx);
    return residual ? tf.add(x, y) : y;
  };
}

/**
 * The MobileViT block: local n×n + 1×1 convs → unfold → L transformer layers + LayerNorm → fold →
 * 1×1 projection → concat with the input → n×n fusion. Reports each part and each layer's attention.
 */
export function mobilevitBlock(store: ParamStore, key: string, info: BlockInfo, channels: number, v: ViTSpec, drop: number) {
  const local = convNormAct(store, `${key}.conv_kxk`, { cin: channels, cout: channels, kernel: 3, stride: 1 }, 'silu');
  const toDim = conv(store, `${key}.conv_1x1`, { cin: channels, cout: v.dim, kernel: 1, stride: 1 });
  const layers = Array.from({ length: v.depth }, (_, i) =>
    transformerLayer(store, `${key}.transformer.${i}`, { dim: v.dim, heads: v.heads, mlpRatio: v.mlpRatio, dropout: drop }));
  const norm = layerNorm(store, `${key}.norm`, v.dim);
  const projection = convNormAct(store, `${key}.conv_proj`, { cin: v.dim, cout: channels, kernel: 1, stride: 1 }, 'silu');
  const fusion = convNormAct(store, `${key}.conv_fusion`, { cin: 2 * channels, cout: channels, kernel: 3, stride: 1 }, 'silu');

  return (x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D => {
    const probe = ctx.probe;
    const part = <T extends tf.Tensor>(name: PartName, t: T): T => (probe?.partEnd?.(info, name, t), t);
    const localOut = part('local', toDim(local(x, ctx), ctx));
    const { patches, grid } = unfold(localOut, v.patch);
    part('unfold', patches);
    let seq = patches;
    layers.forEach((layer, i) => {
      seq = layer(seq, ctx, probe?.attention && ((w) => probe.attention!(info, i, w, grid)));
      probe?.layerEnd?.(info, i, seq);
    });
    seq = part('transformer', norm(seq, ctx) as tf.Tensor3D);
    const folded = part('fold', fold(seq, grid));
    const projected = part('projection', projection(folded, ctx));
    return part('fusion', fusion(tf.concat([x, projected], 3), ctx));
  };
}

/**
 * The stem and the five stages into `list`; returns the last stage's channels. `outputStride` 16 runs the last
 * stage's stride-2 MV2 block at stride 1 (transformers' DeepLabv3 backbone: dilate_layer_5 halves its dilation
 * back to 1, so nothing is dilated).
 */
export function addMobileViTBackbone(list: BlockList, store: ParamStore, v: MobileViTVariant, outputStride: 16 | 32 = 32): number {
  list.add('stem', 'stem', () => convNormAct(store, 'stem', { cin: 3, cout: v.stemChannels, kernel: 3, stride: 2 }, 'silu'));
  let cin = v.stemChannels;
  v.stages.forEach((stage, si) => {
    const stride = outputStride === 16 && si === v.stages.length - 1 ? 1 : stage.stride;
    for (let bi = 0; bi < stage.depth; bi++) {
      const c = cin;
      list.add(`stages.${si}.${bi}`, 'mv2', () =>
        mv2Block(store, `stages.${si}.${bi}`, c, stage.channels, bi === 0 ? stride : 1, stage.expansion));
      cin = stage.channels;
    }
    if (stage.vit) {
      const key = `stages.${si}.${stage.depth}`;
      list.add(key, 'mobilevit', (info) => mobilevitBlock(store, key, info, stage.channels, stage.vit!, v.transformerDropout));
    }
  });
  return cin;
}

export function buildMobileViT(store: ParamStore, v: MobileViTVariant, numClasses: number): BlockList {
  const list = new BlockList(store);
  const cin = addMobileViTBackbone(list, store, v);
  list.add('final_conv', 'conv', () => convNormAct(store, 'final_conv', { cin, cout: v.numFeatures, kernel: 1, stride: 1 }, 'silu'));
  list.add('head', 'head', () =>
    classifierHead(store, 'head.fc', v.numFeatures, numClasses, v.classifierDropout, { kind: 'normal', std: 0.01 }).apply as Apply<tf.Tensor4D, tf.Tensor>);
  return list;
}
