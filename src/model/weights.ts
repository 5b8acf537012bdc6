// Weights in and out under timm's state_dict keys and PyTorch layouts, so a file saved
// here loads in PyTorch (timm.create_model(..., pretrained_cfg_overlay=dict(file=...))) and back.
import * as tf from '@tensorflow/tfjs';
import { cvnetsToTimm, isCvnets } from './cvnets.ts';
import { huggingFaceToTimm, isHuggingFace } from './huggingface.ts';
import { fromTorchLayout, swapInputChannels, toTorchLayout, torchShape } from './layout.ts';
import { createModel } from './model.ts';
import type { Param } from './params.ts';
import { familyOf, VARIANT_NAMES, type VariantName } from './registry/index.ts';
import type { KeyNames } from './registry/types.ts';
import type { TensorMap } from './safetensors.ts';

/** What the loader needs of a network (a classifier or a segmentation model). */
export interface WeightsTarget {
  readonly variant: string;
  readonly numClasses: number;
  readonly params: ReadonlyMap<string, Param>;
  /** The keys a checkpoint with another label set cannot fill (re-initialised instead). */
  readonly headKeys: string[];
  reinitHead(): void;
}

/** The stem convolution of a MobileViT backbone under timm's name. */
const MOBILEVIT_STEM = 'stem.conv.weight';

export class WeightsError extends Error {}

export interface LoadReport {
  format: 'timm' | 'huggingface' | 'cvnets';
  loaded: number;
  /** True when the file's classifier had another number of classes and the head was re-initialised. */
  headReinitialized: boolean;
  /** A sentence for the user, e.g. about fine-tuning. */
  notes: string[];
}

export interface LoadOptions {
  /** Keep the backbone and re-initialise the head when the classifier's shape differs (default true). */
  allowHeadMismatch?: boolean;
  /** Names the source in messages. */
  source?: string;
}

/** The model's weights and BatchNorm buffers in PyTorch layout under timm keys (no num_batches_tracked). */
export function stateDict(model: Pick<WeightsTarget, 'params'>): TensorMap {
  const out: TensorMap = new Map();
  for (const [key, p] of model.params) {
    const data = p.variable.dataSync() as Float32Array;
    out.set(key, toTorchLayout(p.layout, { shape: p.variable.shape.slice(), data: new Float32Array(data) }));
  }
  return out;
}

/**
 * stateDict read without blocking: what a GPU backend needs (webgpu's synchronous read goes through canvases,
 * slow and, on some adapters, fatal to the device).
 */
export async function readStateDict(model: Pick<WeightsTarget, 'params'>): Promise<TensorMap> {
  const out: TensorMap = new Map();
  for (const [key, p] of model.params) {
    const data = (await p.variable.data()) as Float32Array;
    out.set(key, toTorchLayout(p.layout, { shape: p.variable.shape.slice(), data: new Float32Array(data) }));
  }
  return out;
}

/** The variant whose every backbone key and shape the file matches, if any (for the error message). */
function guessVariant(tensors: TensorMap, model: WeightsTarget): VariantName | undefined {
  if (!(VARIANT_NAMES as readonly string[]).includes(model.variant)) return undefined;
  for (const variant of VARIANT_NAMES) {
    if (variant === model.variant) continue;
    const candidate = createModel(variant, { numClasses: 1 });
    const head = new Set(candidate.headKeys);
    const fits = [...candidate.params].every(([key, p]) =>
      head.has(key) || tensors.get(key)?.shape.join('x') === torchShape(p.layout, p.variable.shape).join('x'));
    candidate.dispose();
    if (fits) return variant;
  }
  return undefined;
}

/** The naming scheme each format the loader recognises is, as the registry's families declare what they read. */
const SCHEME: Record<LoadReport['format'], KeyNames> = { timm: 'timm', huggingface: 'transformers', cvnets: 'ml-cvnets' };
const SCHEME_NAME: Record<KeyNames, string> = { timm: "timm's", transformers: "Hugging Face transformers'", 'ml-cvnets': "ml-cvnets'" };

function list(keys: string[], max = 12): string {
  return keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')}, … (${keys.length - max} more)`;
}

/**
 * Loads weights into `model`, checking every key and shape first: nothing is assigned unless the whole
 * file fits (or only the classifier differs, with allowHeadMismatch). Accepts the key names the model's family reads
 * (timm's, transformers', ml-cvnets'; src/model/registry/).
 */
export function loadWeights(model: WeightsTarget, source: TensorMap, opts: LoadOptions = {}): LoadReport {
  const name = opts.source ?? 'weights';
  let tensors = source;
  const format = isHuggingFace(tensors) ? 'huggingface' : isCvnets(tensors) ? 'cvnets' : 'timm';
  const family = familyOf(model.variant);
  if (family && !family.keys.includes(SCHEME[format])) {
    throw new WeightsError(`${name} has ${SCHEME_NAME[SCHEME[format]]} key names, which ${family.label} does not come in (it reads ${family.keys.map((k) => SCHEME_NAME[k]).join(' and ')})`);
  }
  if (format === 'huggingface') tensors = huggingFaceToTimm(tensors);
  if (format === 'cvnets') tensors = cvnetsToTimm(tensors);
  // ml-cvnets reads images as BGR, and transformers' segmentation checkpoints are Apple's (apple/deeplabv3-mobilevit-*)
  // trained that way: swapping the stem's input channels makes the model take RGB like every other model of the studio.
  const bgrStem = (format === 'cvnets' || (format === 'huggingface' && [...tensors.keys()].some((k) => k.startsWith('segmentation_head.'))))
    && tensors.has(MOBILEVIT_STEM);
  if (bgrStem) tensors = new Map(tensors).set(MOBILEVIT_STEM, swapInputChannels(tensors.get(MOBILEVIT_STEM)!));

  const missing: string[] = [];
  const misshaped: string[] = [];
  const headKeys = new Set(model.headKeys);
  let headMismatch = false;
  for (const [key, p] of model.params) {
    const t = tensors.get(key);
    const want = torchShape(p.layout, p.variable.shape);
    if (!t) {
      if (headKeys.has(key)) headMismatch = true;
      else missing.push(key);
    } else if (t.shape.join('x') !== want.join('x')) {
      if (headKeys.has(key)) headMismatch = true;
      else misshaped.push(`${key} (file [${t.shape}] vs model [${want}])`);
    }
  }
  const unexpected = [...tensors.keys()].filter((k) => !model.params.has(k) && !k.endsWith('num_batches_tracked'));
  const allowHead = opts.allowHeadMismatch ?? true;
  if (missing.length || misshaped.length || unexpected.length || (headMismatch && !allowHead)) {
    const parts = [
      missing.length && `${missing.length} missing: ${list(missing)}`,
      unexpected.length && `${unexpected.length} unexpected: ${list(unexpected)}`,
      misshaped.length && `${misshaped.length} mis-shaped: ${list(misshaped, 6)}`,
      headMismatch && !allowHead && `classifier shape differs (model has ${model.numClasses} classes)`,
    ].filter(Boolean);
    const guess = guessVariant(tensors, model);
    const hint = guess ? ` — it looks like a ${guess} checkpoint` : '';
    throw new WeightsError(`${name} does not fit ${model.variant} (${format} names)${hint}: ${parts.join('; ')}`);
  }

  let loaded = 0;
  for (const [key, p] of model.params) {
    if (headMismatch && headKeys.has(key)) continue;
    const t = fromTorchLayout(p.layout, tensors.get(key)!);
    tf.tidy(() => p.variable.assign(tf.tensor(t.data, t.shape)));
    loaded++;
  }
  const notes: string[] = [];
  if (bgrStem) {
    notes.push(`${format === 'cvnets' ? "ml-cvnets'" : 'Hugging Face'} names mapped to timm's; the checkpoint was trained on BGR, so the stem's input channels were swapped: the model takes RGB`);
  } else if (format === 'huggingface') {
    // Weights map 1:1 (no channel flip), so logits equal transformers' for the same input tensor.
    notes.push("Hugging Face names mapped to timm's; apple/mobilevit-* checkpoints expect BGR input (transformers' image processor flips RGB to BGR)");
  }
  if (headMismatch) {
    model.reinitHead();
    const fileHead = tensors.get(model.headKeys.find((k) => k.endsWith('bias'))!);
    notes.push(`classifier re-initialised for ${model.numClasses} classes (the file's has ${fileHead?.shape[0] ?? 'none'}); backbone loaded for fine-tuning`);
  }
  return { format, loaded, headReinitialized: headMismatch, notes };
}
