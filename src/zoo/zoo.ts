// The model zoo as data: ImageNet-1k checkpoints on the Hugging Face Hub that load into the studio's
// networks. One typed row per model; nothing here touches the network, the disk or a tensor backend.
//
// Keys. timm's MobileViT files carry exactly the studio's names. timm's MobileNetV2 (efficientnet.py:
// EfficientNet with conv_stem/bn1 → blocks.i.j → conv_head/bn2 → classifier; DepthwiseSeparableConv
// conv_dw/bn1/conv_pw/bn2; InvertedResidual conv_pw/bn1/conv_dw/bn2/conv_pwl/bn3; BatchNormAct2d subclasses
// BatchNorm2d, so its keys are bnX.weight/bias/running_mean/running_var) is the studio's MobileNetV2 key for
// key: the mapping is the identity (num_batches_tracked is ignored by the loader). Apple's files use
// transformers' names; src/model/huggingface.ts maps them to timm's.
//
// Input. The studio feeds every model RGB in [0, 1]. timm's MobileViT expects exactly that (mean 0, std 1).
// timm's MobileNetV2 expects ImageNet mean/std, and Apple's MobileViT expects BGR: both are folded into the
// stem once, when the file is converted for the studio (src/zoo/convert.ts).
import type { VariantName } from '../model/types.ts';
import type { Interpolation } from '../protocol/recipe.ts';

export type ZooSource = 'timm' | 'apple';

export interface ZooEntry {
  /** The short name: `mobilevit_xxs`, … */
  name: string;
  /** The Hub repository, `owner/name`. */
  repo: string;
  /**
   * The revision the file is fetched at. A branch name where the full commit hash could not be looked up from
   * here (`commit` then holds the prefix seen on the Hub's pages, checked against X-Repo-Commit).
   */
  revision: string;
  /** The first hex digits of the commit the studio was written against, when known. */
  commit?: string;
  file: string;
  variant: VariantName;
  source: ZooSource;
  /** The key names in the file. */
  keys: 'timm' | 'huggingface';
  /** Channel order the network was trained on; BGR is turned into RGB by swapping the stem's input channels. */
  channels: 'RGB' | 'BGR';
  /** Per-channel normalisation the network was trained with (RGB order), folded into the stem's BatchNorm. */
  normalize: { mean: [number, number, number]; std: [number, number, number] } | null;
  /** ImageNet top-1 reported by the source (for the listing). */
  top1?: number;
  /** Parameters (classifier of 1000 classes included). */
  params: number;
  /** Evaluation size of the source's config. */
  imageSize: number;
  /** The centre fraction its evaluation keeps (timm's crop_pct; Apple's crop 256 of a 288 px resize). */
  evalCrop: number;
  /** The resize kernel of the source's evaluation transform. */
  interpolation: Interpolation;
  /** Which label set the classifier predicts. */
  labels: 'imagenet-1k';
}

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

const timmVit = (size: 'xxs' | 'xs' | 's', params: number, top1: number, commit?: string): ZooEntry => ({
  name: `mobilevit_${size}`, repo: `timm/mobilevit_${size}.cvnets_in1k`, revision: 'main', commit, file: 'model.safetensors',
  variant: `mobilevit_${size}`, source: 'timm', keys: 'timm', channels: 'RGB', normalize: null, top1, params, imageSize: 256, evalCrop: 0.9,
  interpolation: 'bicubic', labels: 'imagenet-1k',
});

const appleVit = (hfSize: string, size: 'xxs' | 'xs' | 's', params: number, top1: number): ZooEntry => ({
  name: `apple_mobilevit_${size}`, repo: `apple/mobilevit-${hfSize}`,
  // The safetensors conversion was never merged: it lives in the pull request's ref.
  revision: 'refs/pr/2', file: 'model.safetensors',
  variant: `mobilevit_${size}`, source: 'apple', keys: 'huggingface', channels: 'BGR', normalize: null, top1, params, imageSize: 256, evalCrop: 256 / 288,
  interpolation: 'bilinear', labels: 'imagenet-1k',
});

/** The zoo, in the order it is listed. */
export const ZOO: readonly ZooEntry[] = [
  timmVit('xxs', 1_272_024, 68.9, '26e21ac'),
  timmVit('xs', 2_317_848, 74.6, '09bcddc'),
  timmVit('s', 5_578_632, 78.3),
  {
    name: 'mobilenetv2_100', repo: 'timm/mobilenetv2_100.ra_in1k', revision: 'main', file: 'model.safetensors',
    variant: 'mobilenet_v2', source: 'timm', keys: 'timm', channels: 'RGB', normalize: { mean: IMAGENET_MEAN, std: IMAGENET_STD },
    top1: 72.97, params: 3_504_872, imageSize: 224, evalCrop: 0.875, interpolation: 'bicubic', labels: 'imagenet-1k',
  },
  appleVit('xx-small', 'xxs', 1_272_024, 69.0),
  appleVit('x-small', 'xs', 2_317_848, 74.8),
  appleVit('small', 's', 5_578_632, 78.4),
];

/** Approximate download size: F32 weights plus BatchNorm buffers (a few percent more than 4 bytes a parameter). */
export function approxBytes(e: ZooEntry): number {
  return Math.round(e.params * 4 * 1.02);
}

/**
 * The entry a name denotes: a short name (`mobilevit_xxs`, `xxs`, `apple_mobilevit_s`, `mobilenetv2_100`) or a
 * repo id (`timm/mobilevit_xxs.cvnets_in1k`, `apple/mobilevit-small`), case-insensitive; an optional `@revision`
 * suffix on a repo id must equal the pinned one. Undefined when the name is none of these (a path, say).
 */
export function findZooEntry(name: string): ZooEntry | undefined {
  const n = name.trim().toLowerCase();
  const [id, rev] = n.split('@', 2);
  const hit = ZOO.find((e) => e.repo.toLowerCase() === id)
    ?? ZOO.find((e) => e.name === id.replace(/-/g, '_'))
    ?? ZOO.find((e) => e.source === 'timm' && e.name === `mobilevit_${id}`)
    ?? (id === 'mobilenet_v2' || id === 'mobilenetv2' ? ZOO.find((e) => e.variant === 'mobilenet_v2') : undefined);
  if (hit && rev !== undefined && rev !== hit.revision.toLowerCase()) return undefined;
  return hit;
}

/** The entry a converted file came from, by the `source` its metadata records (`repo@revision/file`, src/zoo/convert.ts). */
export function zooEntryOfSource(source: string | undefined): ZooEntry | undefined {
  return source === undefined ? undefined : ZOO.find((e) => source === `${e.repo}@${e.revision}/${e.file}`);
}
