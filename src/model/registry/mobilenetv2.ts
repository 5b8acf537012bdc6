// MobileNetV2 1.0 (Sandler et al. 2018), the paper's CNN baseline, in timm's mobilenetv2_100 layout.
import type { MobileNetV2Variant } from '../variants.ts';
import { classifierFamily } from './types.ts';

export const MOBILENET_V2: MobileNetV2Variant = {
  family: 'mobilenet_v2',
  stemChannels: 32,
  stages: [
    { depth: 1, channels: 16, stride: 1, expansion: 1 },
    { depth: 2, channels: 24, stride: 2, expansion: 6 },
    { depth: 3, channels: 32, stride: 2, expansion: 6 },
    { depth: 4, channels: 64, stride: 2, expansion: 6 },
    { depth: 3, channels: 96, stride: 1, expansion: 6 },
    { depth: 3, channels: 160, stride: 2, expansion: 6 },
    { depth: 1, channels: 320, stride: 1, expansion: 6 },
  ],
  numFeatures: 1280,
  classifierDropout: 0.2,
};

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export const MOBILENETV2 = classifierFamily({
  id: 'mobilenet_v2',
  label: 'MobileNetV2',
  task: 'classification',
  defaultClasses: 1000,
  // timm's efficientnet.py names (conv_stem/bn1 → blocks.i.j → conv_head/bn2 → classifier) are the studio's own.
  keys: ['timm'],
  attention: false,
  baseline: true,
  variants: [
    {
      name: 'mobilenet_v2', label: 'MobileNetV2', short: 'MNv2', aliases: ['mobilenetv2', 'mobilenetv2_100'], spec: MOBILENET_V2, timm: 'mobilenetv2_100',
      memory: {
        train: { fixed: 106e6, perImage: 0, perPixel: 2.33e3 },
        infer: { fixed: 10.2e6, perImage: 6.9e6, perPixel: 0.93e3 },
      },
    },
  ],
  zoo: [
    // timm's MobileNetV2 expects ImageNet mean/std: folded into the stem when the file is converted.
    {
      name: 'mobilenetv2_100', repo: 'timm/mobilenetv2_100.ra_in1k', revision: 'main', file: 'model.safetensors',
      variant: 'mobilenet_v2', source: 'timm', keys: 'timm', channels: 'RGB', normalize: { mean: IMAGENET_MEAN, std: IMAGENET_STD },
      top1: 72.97, params: 3_504_872, imageSize: 224, evalCrop: 0.875, interpolation: 'bicubic', labels: 'imagenet-1k',
    },
  ],
});
