// Building a model for a weights file: the number of classes is read from the file's classifier when
// not given, and a file that does not fit is one readable error.
import { createModel, type Model } from './model.ts';
import { readSafetensors } from './safetensors.ts';
import { loadWeights, WeightsError, type LoadReport } from './weights.ts';
import { VARIANT_NAMES, type VariantName } from './types.ts';

const HEAD_BIAS_KEYS = ['head.fc.bias', 'classifier.bias'];

export function parseVariant(name: string | undefined): VariantName {
  const v = (name ?? '').replace(/-/g, '_').toLowerCase();
  const alias: Record<string, VariantName> = { xxs: 'mobilevit_xxs', xs: 'mobilevit_xs', s: 'mobilevit_s', mobilenetv2: 'mobilenet_v2', mobilenetv2_100: 'mobilenet_v2' };
  const found = (VARIANT_NAMES as readonly string[]).includes(v) ? (v as VariantName) : alias[v];
  if (!found) throw new WeightsError(`unknown variant "${name}" (expected one of ${VARIANT_NAMES.join(', ')})`);
  return found;
}

export interface ModelFromWeights {
  model: Model;
  report: LoadReport;
}

/**
 * Loads `path` into a new `variant` model. Without `numClasses` the classifier's size comes from the
 * file; with it, a different classifier is an error unless `fineTune` (then the head is re-initialised).
 */
export function modelFromWeights(variant: VariantName, path: string, numClasses?: number, fineTune = false): ModelFromWeights {
  const { tensors } = readSafetensors(path);
  const headBias = HEAD_BIAS_KEYS.map((k) => tensors.get(k)).find(Boolean);
  const classes = numClasses ?? headBias?.shape[0];
  if (!classes) throw new WeightsError(`${path}: no classifier in the file (head.fc.bias); pass --num-classes`);
  const model = createModel(variant, { numClasses: classes });
  try {
    return { model, report: loadWeights(model, tensors, { source: path, allowHeadMismatch: fineTune }) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
