// MobileNetV2 1.0 (the paper's CNN baseline) with timm's mobilenetv2_100 names: conv_stem/bn1 →
// blocks.i.j → conv_head/bn2 → classifier. ReLU6 activations; symmetric padding as PyTorch.
import * as tf from '@tensorflow/tfjs';
import { BlockList, classifierHead } from './block.ts';
import { convBnAct, type Apply, type Ctx } from './layers.ts';
import type { ParamStore } from './params.ts';
import type { MobileNetV2Variant } from './variants.ts';

function depthwiseSeparable(store: ParamStore, key: string, cin: number, cout: number, stride: number) {
  const dw = convBnAct(store, `${key}.conv_dw`, `${key}.bn1`, { cin, cout: cin, kernel: 3, stride, depthwise: true }, 'relu6');
  const pw = convBnAct(store, `${key}.conv_pw`, `${key}.bn2`, { cin, cout, kernel: 1, stride: 1 }, 'none');
  const residual = stride === 1 && cin === cout;
  return (x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D => {
    const y = pw(dw(x, ctx), ctx);
    return residual ? tf.add(x, y) : y;
  };
}

function invertedResidual(store: ParamStore, key: string, cin: number, cout: number, stride: number, expansion: number) {
  const mid = cin * expansion;
  const pw = convBnAct(store, `${key}.conv_pw`, `${key}.bn1`, { cin, cout: mid, kernel: 1, stride: 1 }, 'relu6');
  const dw = convBnAct(store, `${key}.conv_dw`, `${key}.bn2`, { cin: mid, cout: mid, kernel: 3, stride, depthwise: true }, 'relu6');
  const pwl = convBnAct(store, `${key}.conv_pwl`, `${key}.bn3`, { cin: mid, cout, kernel: 1, stride: 1 }, 'none');
  const residual = stride === 1 && cin === cout;
  return (x: tf.Tensor4D, ctx: Ctx): tf.Tensor4D => {
    const y = pwl(dw(pw(x, ctx), ctx), ctx);
    return residual ? tf.add(x, y) : y;
  };
}

export function buildMobileNetV2(store: ParamStore, v: MobileNetV2Variant, numClasses: number): BlockList {
  const list = new BlockList(store);
  list.add('conv_stem', 'stem', () => convBnAct(store, 'conv_stem', 'bn1', { cin: 3, cout: v.stemChannels, kernel: 3, stride: 2 }, 'relu6'));
  let cin = v.stemChannels;
  v.stages.forEach((stage, si) => {
    for (let bi = 0; bi < stage.depth; bi++) {
      const key = `blocks.${si}.${bi}`;
      const c = cin;
      const stride = bi === 0 ? stage.stride : 1;
      list.add(key, 'mv2', () => si === 0
        ? depthwiseSeparable(store, key, c, stage.channels, stride)
        : invertedResidual(store, key, c, stage.channels, stride, stage.expansion));
      cin = stage.channels;
    }
  });
  list.add('conv_head', 'conv', () => convBnAct(store, 'conv_head', 'bn2', { cin, cout: v.numFeatures, kernel: 1, stride: 1 }, 'relu6'));
  // timm's EfficientNet init for the classifier: U(-1/sqrt(fan_out), 1/sqrt(fan_out)).
  list.add('classifier', 'head', () =>
    classifierHead(store, 'classifier', v.numFeatures, numClasses, v.classifierDropout, { kind: 'uniform', limit: 1 / Math.sqrt(numClasses) }).apply as Apply<tf.Tensor4D, tf.Tensor>);
  return list;
}
