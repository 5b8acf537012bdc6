// MobileViT (Mehta & Rastegari, arXiv:2110.02178), the classifiers: the layer tables follow timm's mobilevit.py
// and the paper's Table 4 (channel counts, transformer widths and depths are the reference's), with everything
// else the studio knows about each size. The segmentation and detection families build on these tables.
import type { MobileViTVariant, ViTSpec } from '../variants.ts';
import { classifierFamily, type ZooEntry } from './types.ts';

const vit = (dim: number, depth: number): ViTSpec => ({ dim, depth, patch: [2, 2], heads: 4, mlpRatio: 2 });

/**
 * A size's layer table from the paper's columns: the five stages' channels (the first stride 1, then stride 2;
 * the second of three MV2 blocks, the others of one, the last three followed by a MobileViT block whose
 * transformer, of width `dims[i]`, is 2, 4 and 3 layers deep), the MV2 blocks' expansion, the final 1×1's channels.
 */
function mobilevitTable(channels: readonly number[], dims: readonly number[], expansion: number, numFeatures: number, transformerDropout: number): MobileViTVariant {
  return {
    family: 'mobilevit',
    stemChannels: 16,
    stages: [
      { depth: 1, channels: channels[0], stride: 1, expansion },
      { depth: 3, channels: channels[1], stride: 2, expansion },
      ...[2, 4, 3].map((depth, i) => ({ depth: 1, channels: channels[i + 2], stride: 2, expansion, vit: vit(dims[i], depth) })),
    ],
    numFeatures,
    transformerDropout,
    classifierDropout: 0.1,
  };
}

export const MOBILEVIT_XXS = mobilevitTable([16, 24, 48, 64, 80], [64, 80, 96], 2, 320, 0.05);
export const MOBILEVIT_XS = mobilevitTable([32, 48, 64, 80, 96], [96, 120, 144], 4, 384, 0.1);
export const MOBILEVIT_S = mobilevitTable([32, 64, 96, 128, 160], [144, 192, 240], 4, 640, 0.1);

type Size = 'xxs' | 'xs' | 's';

// The zoo's files. timm's carry exactly the studio's key names and expect RGB in [0, 1] as the studio feeds
// it. Apple's use transformers' names (src/model/huggingface.ts maps them) and expect BGR: the stem's input
// channels are swapped once, when the file is converted for the studio (src/zoo/convert.ts).
const timmFile = (size: Size, params: number, top1: number, commit?: string): ZooEntry<`mobilevit_${Size}`> => ({
  name: `mobilevit_${size}`, repo: `timm/mobilevit_${size}.cvnets_in1k`, revision: 'main', commit, file: 'model.safetensors',
  variant: `mobilevit_${size}`, source: 'timm', keys: 'timm', channels: 'RGB', normalize: null, top1, params, imageSize: 256, evalCrop: 0.9,
  interpolation: 'bicubic', labels: 'imagenet-1k',
});

const appleFile = (hfSize: string, size: Size, params: number, top1: number): ZooEntry<`mobilevit_${Size}`> => ({
  name: `apple_mobilevit_${size}`, repo: `apple/mobilevit-${hfSize}`,
  // The safetensors conversion was never merged: it lives in the pull request's ref.
  revision: 'refs/pr/2', file: 'model.safetensors',
  variant: `mobilevit_${size}`, source: 'apple', keys: 'huggingface', channels: 'BGR', normalize: null, top1, params, imageSize: 256, evalCrop: 256 / 288,
  interpolation: 'bilinear', labels: 'imagenet-1k',
});

export const MOBILEVIT = classifierFamily({
  id: 'mobilevit',
  label: 'MobileViT',
  task: 'classification',
  defaultClasses: 1000,
  keys: ['timm', 'transformers', 'ml-cvnets'],
  attention: true,
  variants: [
    {
      name: 'mobilevit_xxs', label: 'MobileViT-XXS', short: 'XXS', aliases: ['xxs'], spec: MOBILEVIT_XXS, timm: 'mobilevit_xxs',
      memory: {
        train: { fixed: 16e6, perImage: 0.3e6, perPixel: 2.6e3 },
        infer: { fixed: 1.2e6, perImage: 3.5e6, perPixel: 1.0e3 },
      },
    },
    {
      name: 'mobilevit_xs', label: 'MobileViT-XS', short: 'XS', aliases: ['xs'], spec: MOBILEVIT_XS, timm: 'mobilevit_xs',
      memory: {
        train: { fixed: 20e6, perImage: 0, perPixel: 5.15e3 },
        infer: { fixed: 2.2e6, perImage: 11.6e6, perPixel: 1.72e3 },
      },
    },
    {
      name: 'mobilevit_s', label: 'MobileViT-S', short: 'S', aliases: ['s'], spec: MOBILEVIT_S, timm: 'mobilevit_s',
      memory: {
        train: { fixed: 201e6, perImage: 0, perPixel: 7.0e3 },
        infer: { fixed: 5.2e6, perImage: 15.4e6, perPixel: 2.45e3 },
      },
    },
  ],
  zoo: [
    timmFile('xxs', 1_272_024, 68.9, '26e21ac'),
    timmFile('xs', 2_317_848, 74.6, '09bcddc'),
    timmFile('s', 5_578_632, 78.3),
    appleFile('xx-small', 'xxs', 1_272_024, 69.0),
    appleFile('x-small', 'xs', 2_317_848, 74.8),
    appleFile('small', 's', 5_578_632, 78.4),
  ],
});
