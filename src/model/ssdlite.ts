// SSDLite on a MobileViT backbone, as Apple's ml-cvnets v0.1 builds it (config/detection/ssd_mobilevit_*_320.yaml):
// the backbone at output stride 32 without its final expansion; levels at strides 16 and 32 (the last two
// stages), then extra layers at 64, 128, 256 (separable convolutions) and a global level; on each, a head that
// predicts per anchor 4 box deltas then the class logits (background first). The backbone keeps timm's keys;
// the extra layers and heads keep ml-cvnets' (extra_layers.*, ssd_heads.*), so its checkpoints load as they are.
import * as tf from '@tensorflow/tfjs';
import { anchorsPerCell, SSD_ANCHORS, type AnchorSpec } from './anchors.ts';
import type { Block } from './block.ts';
import { BlockList } from './block.ts';
import { conv, convBnAct, type Apply, type Ctx } from './layers.ts';
import { addMobileViTBackbone } from './mobilevit.ts';
import type { ParamStore } from './params.ts';
import type { MobileViTVariant } from './variants.ts';

export interface SsdSpec {
  /** Channels each level's head projects to first (where its input differs): ml-cvnets' proj_channels. */
  projChannels: number[];
  /** Extra levels' widths after the backbone (strides 64, 128, 256), then the global level's. */
  extraChannels: [number, number, number];
  globalChannels: number;
  anchors: AnchorSpec;
}

export const SSDLITE_SPEC: SsdSpec = { projChannels: [512, 256, 256, 128, 128, 64], extraChannels: [256, 128, 128], globalChannels: 64, anchors: SSD_ANCHORS };

/** ml-cvnets' ConvLayer: `<key>.block.conv` (+ `.block.norm` with BatchNorm). */
function cvnetsConv(store: ParamStore, key: string, cin: number, cout: number, kernel: number, stride: number,
  opts: { depthwise?: boolean; norm: boolean; act: 'relu' | 'none'; bias?: boolean }): Apply<tf.Tensor4D, tf.Tensor4D> {
  const spec = { cin, cout, kernel, stride, depthwise: opts.depthwise, bias: opts.bias ?? !opts.norm };
  if (opts.norm) return convBnAct(store, `${key}.block.conv`, `${key}.block.norm`, spec, opts.act);
  const c = conv(store, `${key}.block.conv`, spec);
  return opts.act === 'relu' ? (x, ctx) => tf.relu(c(x, ctx)) : c;
}

/** ml-cvnets' SeparableConv: depthwise k×k + BatchNorm, then pointwise (BatchNorm + ReLU, or a bias alone). */
function separable(store: ParamStore, key: string, cin: number, cout: number, stride: number, pointwise: 'bn-relu' | 'bias') {
  const dw = cvnetsConv(store, `${key}.dw_conv`, cin, cin, 3, stride, { depthwise: true, norm: true, act: 'none' });
  const pw = cvnetsConv(store, `${key}.pw_conv`, cin, cout, 1, 1, pointwise === 'bias' ? { norm: false, act: 'none' } : { norm: true, act: 'relu' });
  return (x: tf.Tensor4D, ctx: Ctx) => pw(dw(x, ctx), ctx);
}

/** The detector's parts as blocks: the backbone (run in order), the extra layers, and a head per level. */
export interface SsdBlocks {
  list: BlockList;
  /** Backbone blocks whose outputs are the first two levels (strides 16 and 32). */
  levelSources: [string, string];
  extras: Block[];
  heads: Block[];
  /** Values each head predicts per anchor: 4 deltas + classes. */
  perAnchor: number;
}

export function buildSsdLite(store: ParamStore, backbone: MobileViTVariant, numClasses: number, spec = SSDLITE_SPEC): SsdBlocks {
  const list = new BlockList(store);
  addMobileViTBackbone(list, store, backbone);
  const stages = backbone.stages;
  const stageName = (si: number) => `stages.${si}.${stages[si].depth + (stages[si].vit ? 0 : -1)}`;
  const levelChannels = [stages[3].channels, stages[4].channels, ...spec.extraChannels, spec.globalChannels];
  const extraStart = list.blocks.length;
  let cin = stages[4].channels;
  for (const [i, os] of [64, 128, 256].entries()) {
    const c = cin;
    const key = `extra_layers.os_${os}`;
    list.add(key, 'conv', () => separable(store, key, c, spec.extraChannels[i], 2, 'bn-relu'));
    cin = spec.extraChannels[i];
  }
  const globalIn = cin;
  list.add('extra_layers.os_-1', 'conv', () => {
    // Global average pool, then a 1×1 conv with neither BatchNorm nor bias, then ReLU.
    const project = cvnetsConv(store, 'extra_layers.os_-1.1', globalIn, spec.globalChannels, 1, 1, { norm: false, act: 'relu', bias: false });
    return (x, ctx) => project(tf.mean(x, [1, 2], true) as tf.Tensor4D, ctx);
  });
  const perAnchor = 4 + numClasses;
  const headStart = list.blocks.length;
  levelChannels.forEach((channels, level) => {
    const key = `ssd_heads.${level}`;
    const outputs = anchorsPerCell(spec.anchors.aspectRatios[level]) * perAnchor;
    const last = level === levelChannels.length - 1;
    list.add(key, 'head', () => {
      if (last) return cvnetsConv(store, `${key}.loc_cls_layer`, channels, outputs, 1, 1, { norm: false, act: 'none' });
      const proj = spec.projChannels[level];
      const project = channels !== proj ? cvnetsConv(store, `${key}.proj_layer`, channels, proj, 1, 1, { norm: true, act: 'relu' }) : undefined;
      const predict = separable(store, `${key}.loc_cls_layer`, project ? proj : channels, outputs, 1, 'bias');
      return (x, ctx) => predict(project ? project(x, ctx) : x, ctx);
    });
  });
  return {
    list,
    levelSources: [stageName(3), stageName(4)],
    extras: list.blocks.slice(extraStart, headStart),
    heads: list.blocks.slice(headStart),
    perAnchor,
  };
}
