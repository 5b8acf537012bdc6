// What the studio knows about a model family, as typed data: its variants' names, aliases, labels and layer
// tables, the task it serves, the key names its checkpoints come in, its pretrained files and its names in
// other tools. Pure: the contract, the window and the CLI's help read it without TensorFlow.js or Node.
import type { Interpolation } from '../../util/interpolation.ts';
import type { MobileViTVariant, Variant } from '../variants.ts';

export const TASKS = ['classification', 'segmentation', 'detection'] as const;
export type Task = (typeof TASKS)[number];

/** Naming schemes of the checkpoints a family loads: timm's, Hugging Face transformers', Apple ml-cvnets'. */
export type KeyNames = 'timm' | 'transformers' | 'ml-cvnets';

/** Peak bytes of one pass on wasm, split by what they grow with (src/model/memory.ts). */
export interface Footprint {
  /** Bytes whatever the batch: the weights' gradients and the optimizer's temporaries, folded BatchNorm filters. */
  fixed: number;
  /** Bytes per image whatever its size. */
  perImage: number;
  /** Bytes per image pixel, besides attention. */
  perPixel: number;
}

interface BaseEntry<N extends string, S> {
  /** The name everywhere: flags, settings, run records, file metadata. */
  readonly name: N;
  /** The name people read: "MobileViT-XXS". */
  readonly label: string;
  /** For tight table cells: "XXS". */
  readonly short: string;
  /** Other spellings `--variant` takes (lower case; hyphens are read as underscores). */
  readonly aliases?: readonly string[];
  /** The layer table the network is built from. */
  readonly spec: S;
}

/** A classifier: it trains in the studio, so its memory per pass is known and it has a timm recipe. */
export interface ClassifierEntry<N extends string = string> extends BaseEntry<N, Variant> {
  /** Fitted to tf.profile's peaks on wasm (see memory.ts for how). */
  readonly memory: { readonly train: Footprint; readonly infer: Footprint };
  /** The model's name in timm (train.py --model): the exported recipe names it. */
  readonly timm: string;
}

/** A segmentation or detection network on a classifier's backbone. */
export interface DenseEntry<N extends string = string> extends BaseEntry<N, { backbone: MobileViTVariant }> {}

/**
 * The ONNX builder that writes a dense family's graph: onnx-dense.ts DENSE_BUILDERS is keyed by these, so a family
 * with a new kind of dense network is its file here plus one line there. A classifier's graph is named by nothing
 * here: it follows its layer table's family (spec.family), as the network itself is built (onnx-networks.ts
 * emitClassifier, model.ts).
 */
export type DenseOnnxBuilder = 'deeplabv3' | 'ssdlite';

interface BaseFamily<T extends Task, E> {
  readonly id: string;
  /** The family's name in the window: "MobileViT". */
  readonly label: string;
  readonly task: T;
  /** Outputs when none are asked for: its reference data's labels (background included for dense tasks). */
  readonly defaultClasses: number;
  /** The key names of the checkpoints it reads (weights.ts maps them to the studio's, which are timm's). */
  readonly keys: readonly KeyNames[];
  /** Whether it has attention to inspect (transformer blocks). */
  readonly attention: boolean;
  /**
   * Names people read for the blocks its own head adds, by block name (the backbone's blocks go by timm's module
   * paths): `profile` and the Latency view show them beside the name (labels.ts blockLabel).
   */
  readonly blockLabels?: Readonly<Record<string, string>>;
  /** Shown as a baseline to compare with, not as a model of the paper. */
  readonly baseline?: boolean;
  readonly variants: readonly E[];
  /** Its pretrained files (src/zoo reads them). */
  readonly zoo: readonly ZooEntry<VariantNameOf<E>>[];
}

type VariantNameOf<E> = E extends BaseEntry<infer N, unknown> ? N : never;

export type ClassifierFamily<N extends string = string> = BaseFamily<'classification', ClassifierEntry<N>>;
/** A segmentation or detection family of task T. */
interface DenseFamilyOf<T extends 'segmentation' | 'detection', N extends string> extends BaseFamily<T, DenseEntry<N>> {
  /** The builder of its ONNX graph (see DenseOnnxBuilder). */
  readonly onnx: DenseOnnxBuilder;
}
export type DenseFamily<N extends string = string> = DenseFamilyOf<'segmentation' | 'detection', N>;
export type Family<N extends string = string> = ClassifierFamily<N> | DenseFamily<N>;

/** Declares a classifier family, keeping its variants' names as literal types. */
export function classifierFamily<const N extends string>(f: ClassifierFamily<N>): ClassifierFamily<N> {
  return f;
}

/** Declares a segmentation or detection family, keeping its variants' names as literal types. */
export function denseFamily<const N extends string, T extends 'segmentation' | 'detection'>(f: DenseFamilyOf<T, N>): DenseFamilyOf<T, N> {
  return f;
}

/** The label sets of the zoo's files: ImageNet-1k's classes; PASCAL VOC's and COCO's with the background first. */
export type LabelSet = 'imagenet-1k' | 'voc-21' | 'coco-81';

/**
 * A pretrained checkpoint that loads into one of the family's variants: a file on the Hugging Face Hub, or one
 * a publisher serves from its own site (`url`; ml-cvnets' detectors).
 */
export interface ZooEntry<V extends string = string> {
  /** The short name: `mobilevit_xxs`, … */
  name: string;
  /** The Hub repository, `owner/name`; for a file off the Hub, the publisher's project and the model (unique per row). */
  repo: string;
  /**
   * The revision the file is fetched at. A branch name where the full commit hash could not be looked up from
   * here (`commit` then holds the prefix seen on the Hub's pages, checked against X-Repo-Commit).
   */
  revision: string;
  /** The first hex digits of the commit the studio was written against, when known. */
  commit?: string;
  /** The file's path in the repository (or under the publisher's address); `.pt`/`.bin` are PyTorch checkpoints. */
  file: string;
  /**
   * A file off the Hub: its address under ml-cvnets' published models (CVNETS_MODELS_URL, src/zoo/store.ts), fetched
   * as it is, with no checksum from the server.
   */
  cvnets?: true;
  /**
   * The file's sha256 where its publisher states one. Hub files need none (the Hub sends its LFS sha256); a file
   * without either is trusted on first use: the studio records the sha256 of its first download and holds every
   * later download to it (src/zoo/first-use.ts).
   */
  sha256?: string;
  /** The network it loads into (a name of its family). */
  variant: V;
  source: 'timm' | 'apple';
  /** The key names in the file. */
  keys: 'timm' | 'huggingface' | 'ml-cvnets';
  /** Channel order the network was trained on; BGR is turned into RGB by swapping the stem's input channels. */
  channels: 'RGB' | 'BGR';
  /** Per-channel normalisation the network was trained with (RGB order), folded into the stem's BatchNorm. */
  normalize: { mean: [number, number, number]; std: [number, number, number] } | null;
  /** ImageNet top-1 reported by the source (for the listing). */
  top1?: number;
  /** A dense model's score reported by the source: PASCAL VOC val mIoU, COCO val mAP (percent). */
  score?: { metric: 'mIoU' | 'mAP'; value: number };
  /** Parameters (its label set's classifier included). */
  params: number;
  /** Evaluation size of the source's config. */
  imageSize: number;
  /** The centre fraction its evaluation keeps (timm's crop_pct; Apple's crop 256 of a 288 px resize). */
  evalCrop: number;
  /** The resize kernel of the source's evaluation transform. */
  interpolation: Interpolation;
  /** Which label set it predicts. */
  labels: LabelSet;
}
