// DeepLabv3 on a MobileViT backbone, as Hugging Face transformers' MobileViTForSemanticSegmentation builds it
// with the settings of Apple's apple/deeplabv3-mobilevit-* checkpoints: the backbone at output stride 16 without
// its final 1×1 expansion, then an ASPP (1×1, three 3×3 atrous branches, image pooling) and a 1×1 classifier.
// The backbone keeps timm's keys (so a classifier's backbone loads into it as it is); the head keeps
// transformers' keys (segmentation_head.*), so Apple's checkpoints load with only the backbone renamed.
import * as tf from '@tensorflow/tfjs';
import { BlockList } from './block.ts';
import { conv, convBnAct, dropout, type Apply, type Ctx } from './layers.ts';
import { addMobileViTBackbone } from './mobilevit.ts';
import type { ParamStore } from './params.ts';
import type { BlockInfo } from './types.ts';
import type { MobileViTVariant } from './variants.ts';

/** The ASPP and classifier settings of Apple's checkpoints (transformers' MobileViTConfig defaults). */
export interface DeepLabV3Head {
  channels: number; // every ASPP branch and the projection
  atrousRates: [number, number, number];
  asppDropout: number; // nn.Dropout after the projection
  classifierDropout: number; // nn.Dropout2d before the classifier
}

export const DEEPLABV3_HEAD: DeepLabV3Head = { channels: 256, atrousRates: [6, 12, 18], asppDropout: 0.1, classifierDropout: 0.1 };

/** Where the head starts: its keys, and the block names the loader and the profiler look for. */
export const SEGMENTATION_HEAD_PREFIX = 'segmentation_head';

/** transformers' MobileViTConvLayer with BatchNorm and ReLU: `<key>.convolution.weight`, `<key>.normalization.*`. */
function convBnRelu(store: ParamStore, key: string, cin: number, cout: number, kernel: number, dilation = 1) {
  return convBnAct(store, `${key}.convolution`, `${key}.normalization`, { cin, cout, kernel, stride: 1, dilation }, 'relu');
}

/**
 * ASPP over the backbone's last map x [B, h, w, cin] → [B, h, w, channels]: five branches side by side
 * (1×1; 3×3 at each atrous rate; global average → 1×1 → spread back over the map, which is what a bilinear
 * upsampling of a 1×1 map gives), concatenated, projected by a 1×1, then dropout. The probe hears each branch and
 * the projection as a part of the block (asppPartNames), so a profile times them one by one.
 */
function aspp(store: ParamStore, key: string, cin: number, head: DeepLabV3Head, info: BlockInfo): Apply<tf.Tensor4D, tf.Tensor4D> {
  const c = head.channels;
  const names = asppPartNames(head);
  const branches = [
    convBnRelu(store, `${key}.convs.0`, cin, c, 1),
    ...head.atrousRates.map((rate, i) => convBnRelu(store, `${key}.convs.${i + 1}`, cin, c, 3, rate)),
  ];
  const pooled = convBnRelu(store, `${key}.convs.4.conv_1x1`, cin, c, 1);
  const project = convBnRelu(store, `${key}.project`, 5 * c, c, 1);
  return (x, ctx) => {
    const [b, h, w] = x.shape;
    const part = <T extends tf.Tensor>(i: number, t: T): T => (ctx.probe?.partEnd?.(info, names[i], t), t);
    const outs = branches.map((branch, i) => part(i, branch(x, ctx)));
    // Spread by a broadcast add (exact: x + 0 = x), not tf.tile, whose gradient slices dy once per copy: h·w
    // Slice and Add kernels, 256 of each at 256 px, 15 % of a DeepLabv3 step on wasm. A broadcast's is one Sum.
    const image = part(branches.length, tf.add(pooled(tf.mean(x, [1, 2], true) as tf.Tensor4D, ctx), tf.zeros([b, h, w, c])) as tf.Tensor4D);
    ctx.probe?.macs?.(b * h * w * cin); // the image pooling's sum
    const all = tf.concat([...outs, image], 3) as tf.Tensor4D;
    return part(names.length - 1, dropout(project(all, ctx), head.asppDropout, ctx));
  };
}

/** The ASPP's parts in the order its pass runs them: the 1×1 branch, one per atrous rate, the image pooling, the projection. */
export function asppPartNames(head = DEEPLABV3_HEAD): string[] {
  return ['1×1', ...head.atrousRates.map((rate) => `3×3 rate ${rate}`), 'image pooling', 'projection'];
}

/** Dropout2d: whole channels of each image are dropped together. */
function channelDropout(x: tf.Tensor4D, rate: number, ctx: Ctx): tf.Tensor4D {
  const [b, , , c] = x.shape;
  return dropout(x, rate, ctx, [b, 1, 1, c]);
}

/** The backbone (output stride 16), the ASPP and the classifier, as blocks: logits [B, ⌈H/16⌉, ⌈W/16⌉, classes]. */
export function buildDeepLabV3(store: ParamStore, backbone: MobileViTVariant, numClasses: number, head = DEEPLABV3_HEAD): BlockList {
  const list = new BlockList(store);
  const cin = addMobileViTBackbone(list, store, backbone, 16);
  const asppKey = `${SEGMENTATION_HEAD_PREFIX}.aspp`;
  list.add(asppKey, 'conv', (info) => aspp(store, asppKey, cin, head, info));
  const classifierKey = `${SEGMENTATION_HEAD_PREFIX}.classifier`;
  list.add(classifierKey, 'head', () => {
    const classify = conv(store, `${classifierKey}.convolution`, { cin: head.channels, cout: numClasses, kernel: 1, stride: 1, bias: true });
    return (x, ctx) => classify(channelDropout(x, head.classifierDropout, ctx), ctx);
  });
  return list;
}
