// A hub file made ready for the studio, once, at pull time: timm key names, RGB input in [0, 1] (Apple's
// BGR order and timm MobileNetV2's ImageNet mean/std folded into the stem). Pure arithmetic on Float32Arrays:
// no tensor backend. src/zoo/verify.ts checks the file and writes the copy, with the labels in its metadata.
import { huggingFaceToTimm, isHuggingFace } from '../model/huggingface.ts';
import { swapInputChannels } from '../model/layout.ts';
import type { NamedTensor, TensorMap } from '../model/safetensors.ts';
import { classifierEntry, type VariantName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';

/** The stem convolution and its BatchNorm, by the kind of layer table (a variant's `spec.family`). */
const STEM = {
  mobilevit: { conv: 'stem.conv.weight', bn: 'stem.bn' },
  mobilenet_v2: { conv: 'conv_stem.weight', bn: 'bn1' },
} as const;

export const LABELS_METADATA_KEY = 'labels';

/**
 * Folds x_norm = (x − mean) / std into the stem: W' = W / std per input channel, and the constant
 * −Σ W·mean/std the conv would add moves into the BatchNorm's running mean. Exact away from the image border;
 * at the border zero padding now stands for black instead of the mean colour (a small difference).
 */
export function foldNormalization(w: NamedTensor, runningMean: NamedTensor, mean: readonly number[], std: readonly number[]): { w: NamedTensor; runningMean: NamedTensor } {
  const [o, i, kh, kw] = w.shape;
  if (w.shape.length !== 4 || i !== 3 || runningMean.data.length !== o) throw new Error(`the stem weight [${w.shape}] and running mean [${runningMean.shape}] do not fit`);
  const k = kh * kw;
  const data = new Float32Array(w.data.length);
  const rm = new Float32Array(runningMean.data);
  for (let oc = 0; oc < o; oc++) {
    let shift = 0;
    for (let c = 0; c < 3; c++) {
      for (let t = 0; t < k; t++) {
        const idx = (oc * 3 + c) * k + t;
        data[idx] = w.data[idx] / std[c];
        shift += (w.data[idx] * mean[c]) / std[c];
      }
    }
    rm[oc] += shift;
  }
  return { w: { shape: w.shape.slice(), data }, runningMean: { shape: runningMean.shape.slice(), data: rm } };
}

/** The tensors of `entry`'s hub file as the studio loads them. */
export function convertTensors(entry: ZooEntry<VariantName>, input: TensorMap): TensorMap {
  let t = new Map(input);
  for (const k of [...t.keys()]) if (k.endsWith('num_batches_tracked')) t.delete(k);
  if (entry.keys === 'huggingface' || isHuggingFace(t)) t = huggingFaceToTimm(t);
  const stem = STEM[classifierEntry(entry.variant).spec.family];
  const w = t.get(stem.conv);
  if (!w) throw new Error(`${entry.repo}: no stem convolution ${stem.conv} in the file`);
  if (entry.channels === 'BGR') t.set(stem.conv, swapInputChannels(w));
  if (entry.normalize) {
    const rmKey = `${stem.bn}.running_mean`;
    const rm = t.get(rmKey);
    if (!rm) throw new Error(`${entry.repo}: no ${rmKey} in the file`);
    const folded = foldNormalization(t.get(stem.conv)!, rm, entry.normalize.mean, entry.normalize.std);
    t.set(stem.conv, folded.w);
    t.set(rmKey, folded.runningMean);
  }
  return t;
}
