// Building a model for a weights file: the number of classes is read from the file's classifier when
// not given, and a file that does not fit is one readable error.
import { MAX_CLASSES, createModel, type Model } from './model.ts';
import type { TensorMap } from './safetensors.ts';
import { readWeightsFile } from './weights-file.ts';
import { loadWeights, WeightsError, type LoadReport } from './weights.ts';
import type { VariantName } from './registry/index.ts';

const HEAD_BIAS_KEYS = ['head.fc.bias', 'classifier.bias'];

/**
 * The classifier size a weights file declares, checked before a model of that size is built: the bias is
 * one-dimensional, at most MAX_CLASSES long, and agrees with the classifier weight's first dimension.
 */
export function classesInFile(tensors: TensorMap, path: string): number | undefined {
  const key = HEAD_BIAS_KEYS.find((k) => tensors.has(k));
  if (key === undefined) return undefined;
  const bias = tensors.get(key)!;
  const weight = tensors.get(key.replace(/bias$/, 'weight'));
  // The file's own numbers are not quoted when they are out of range: they may be anything.
  if (bias.shape.length !== 1) throw new WeightsError(`${path}: the classifier bias ${key} is not one-dimensional (${bias.shape.length} dimensions)`);
  const n = bias.shape[0];
  if (n < 1) throw new WeightsError(`${path}: the classifier bias ${key} is empty (no classes)`);
  if (n > MAX_CLASSES) throw new WeightsError(`${path}: the classifier ${key} declares more than the ${MAX_CLASSES} classes a model may have`);
  if (weight && (weight.shape.length < 2 || weight.shape[0] !== n)) {
    throw new WeightsError(`${path}: the classifier weight does not match its bias (${n} classes)`);
  }
  return n;
}

export interface ModelFromWeights {
  model: Model;
  report: LoadReport;
  /** Class names stored in the file's metadata (`labels`, a JSON array), when they fit its classifier. */
  labels: string[] | null;
  /** The file's metadata (safetensors `__metadata__`). */
  metadata: Record<string, string>;
}

/** The `labels` metadata entry (the studio's runs and zoo files write it), when it is a list of `classes` strings. */
export function labelsInMetadata(metadata: Record<string, string>, classes?: number): string[] | null {
  const raw = metadata.labels;
  if (typeof raw !== 'string' || raw.length > 20 * 1024 * 1024) return null;
  try {
    const v: unknown = JSON.parse(raw);
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) return null;
    if (classes !== undefined && v.length !== classes) return null;
    return v as string[];
  } catch {
    return null;
  }
}

/**
 * Loads `path` into a new `variant` model. Without `numClasses` the classifier's size comes from the
 * file; with it, a different classifier is an error unless `fineTune` (then the head is re-initialised).
 */
export function modelFromWeights(variant: VariantName, path: string, numClasses?: number, fineTune = false): ModelFromWeights {
  const { tensors, metadata } = readWeightsFile(path);
  const inFile = classesInFile(tensors, path);
  const classes = numClasses ?? inFile;
  if (classes === undefined) throw new WeightsError(`${path}: no classifier in the file (head.fc.bias); pass --num-classes`);
  // Checked before a model of that size is built: only fine-tuning may replace the file's classifier.
  if (!fineTune && inFile !== undefined && classes !== inFile) {
    throw new WeightsError(`${path} does not fit: its classifier has ${inFile} classes, not ${classes}`);
  }
  const model = createModel(variant, { numClasses: classes });
  try {
    const report = loadWeights(model, tensors, { source: path, allowHeadMismatch: fineTune });
    return { model, report, labels: report.headReinitialized ? null : labelsInMetadata(metadata, classes), metadata };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
