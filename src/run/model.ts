// The model to evaluate or inspect: a variant with optional weights (seeded random init otherwise), or
// a training run's folder (its variant, classes, image size and best — else last — checkpoint), with what its
// source records of its preprocessing (a run's recipe, the zoo row a converted file came from): every inference
// path turns that into its input with src/protocol/recipe.ts inferencePreprocessing. A segmentation or detection
// network (a run's, or a weights file's) is loaded by loadDenseModel.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedPreprocessing } from '../protocol/recipe.ts';
import { denseNetworkFromFile, denseNetworkFromWeights, type DenseNetwork } from '../model/dense-from-file.ts';
import { modelFromWeights } from '../model/from-file.ts';
import { parseVariant, taskOf, type NetworkName } from '../model/registry/index.ts';
import { createNetwork } from '../model/networks.ts';
import { zooEntryOfSource } from '../zoo/zoo.ts';
import { createModel, type Model } from '../model/index.ts';
import { loadWeightsFile, readWeightsFile } from '../model/weights-file.ts';
import { CheckpointStore, type CheckpointKind } from './checkpoint.ts';
import { FILES, readRun, type RunRecord } from './record.ts';

export interface ModelSource {
  variant?: string;
  numClasses?: number;
  /** safetensors with timm (or Hugging Face) names. */
  weights?: string;
  /** A run folder (runs/<id>/). */
  run?: string;
  /** Which of the run's checkpoints; default best, falling back to last. */
  checkpoint?: CheckpointKind;
  /** Seed of the random init when no weights are given. */
  seed?: number;
}

export interface LoadedModel extends RecordedPreprocessing {
  model: Model;
  /** Class names when known (a run's classes, or those stored in the weights' metadata). */
  labels: string[] | null;
  /** What was loaded, for messages: a path or 'random init (seed 0)'. */
  source: string;
  notes: string[];
}

const NOT_RECORDED: RecordedPreprocessing = { imageSize: null, evalCrop: null, interpolation: null };

export function loadModel(src: ModelSource): LoadedModel {
  if (src.run !== undefined && src.weights !== undefined) throw new RangeError('give either weights or a run, not both');
  if (src.run !== undefined) return fromRun(src);
  const variant = parseVariant(src.variant);
  const seed = src.seed ?? 0;
  if (src.weights === undefined) {
    const model = createModel(variant, { numClasses: src.numClasses ?? 1000, seed });
    return { model, labels: null, ...NOT_RECORDED, source: `random init (seed ${seed})`, notes: [] };
  }
  if (!existsSync(src.weights)) throw new Error(`weights file ${src.weights} does not exist`);
  // Inspecting needs the file's own classifier: a head mismatch is an error here, not fine-tuning.
  const { model, report, labels, metadata } = modelFromWeights(variant, src.weights, src.numClasses);
  const zoo = zooEntryOfSource(metadata.source);
  const recorded = zoo ? { imageSize: zoo.imageSize, evalCrop: zoo.evalCrop, interpolation: zoo.interpolation } : NOT_RECORDED;
  return { model, labels, ...recorded, source: src.weights, notes: report.notes };
}

function fromRun(src: ModelSource): LoadedModel {
  const dir = src.run!;
  const run = readRun(dir);
  // The inspections build classifiers; a segmentation or detection run's network is read by loadDenseModel.
  if (run.settings.task !== 'classification') throw new Error(`run ${dir} trained ${run.settings.task}: only eval, predict and export read it so far`);
  const variant = run.settings.variant;
  if (src.variant !== undefined && src.variant !== variant) throw new RangeError(`run ${dir} trained ${variant}, not ${src.variant}`);
  if (!existsSync(join(dir, FILES.checkpoints))) throw new Error(`run ${dir} has no ${FILES.checkpoints} folder`);
  const store = new CheckpointStore(join(dir, FILES.checkpoints));
  const found = store.weightsToRead(src.checkpoint);
  if (!found) throw new Error(`run ${dir} has no ${src.checkpoint ?? 'best or last'} checkpoint yet`);
  const { kind, path } = found;
  const classes = run.classes;
  if (classes.length === 0) throw new Error(`run ${dir} records no classes in ${FILES.run}`);
  if (src.numClasses !== undefined && src.numClasses !== classes.length)
    throw new RangeError(`run ${dir} has ${classes.length} classes, not ${src.numClasses}`);
  const model = createModel(variant, { numClasses: classes.length });
  try {
    const report = loadWeightsFile(model, path, { allowHeadMismatch: false });
    // Inspect what the run evaluated: its recorded crop (a run from before recipes used the reference one).
    const evalCrop = run.recipe?.settings.evalCrop ?? null;
    return { model, labels: classes, imageSize: run.settings.imageSize, evalCrop, interpolation: null, source: `${path} (${kind} checkpoint)`, notes: report.notes };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** A segmentation or detection network with what predicting with it needs (its input size, its labels). */
export interface LoadedDense extends RecordedPreprocessing {
  model: DenseNetwork;
  labels: string[] | null;
  source: string;
  notes: string[];
}

/** A dense network's input size when its source records none: the size its references evaluate at. */
export const DENSE_IMAGE_SIZE = { segmentation: 512, detection: 320 } as const;

/**
 * A segmentation or detection network's input for inspection: bilinear like its references, and no crop beyond the
 * square (crop 1: the shorter side resized to the input size, the centre square kept), not a classifier's 0.9.
 * (Predict and export resize the whole image to the square and read only the size.)
 */
const DENSE_INPUT = { evalCrop: 1, interpolation: 'bilinear' } as const;

/**
 * A segmentation or detection network: a run's checkpoint (best, else last) as the network its own metadata names,
 * with the run's classes and image size; or the network `variant` names with a weights file. Its input is made as
 * DENSE_INPUT says.
 */
export function loadDenseModel(src: ModelSource): LoadedDense {
  if (src.run !== undefined && src.weights !== undefined) throw new RangeError('give either weights or a run, not both');
  if (src.run !== undefined) return denseFromRun(src.run, readRun(src.run), src.checkpoint);
  const name = (src.variant ?? '') as NetworkName;
  const task = taskOf(name);
  if (task !== 'segmentation' && task !== 'detection') throw new RangeError(`${src.variant} is not a segmentation or detection network`);
  if (src.weights === undefined) throw new RangeError(`${name}: give the weights file to load (a .safetensors or PyTorch checkpoint)`);
  if (!existsSync(src.weights)) throw new Error(`weights file ${src.weights} does not exist`);
  const { network, report, labels } = denseNetworkFromWeights(name, src.weights, src.numClasses);
  return { model: network, labels, imageSize: DENSE_IMAGE_SIZE[task], ...DENSE_INPUT, source: src.weights, notes: report.notes };
}

function denseFromRun(dir: string, run: RunRecord, checkpoint?: CheckpointKind): LoadedDense {
  const found = new CheckpointStore(join(dir, FILES.checkpoints)).weightsToRead(checkpoint);
  if (!found) throw new Error(`run ${dir} has no ${checkpoint ?? 'best or last'} checkpoint yet`);
  const file = readWeightsFile(found.path);
  const name = file.metadata.variant ?? '';
  if (taskOf(name) !== run.settings.task) {
    throw new Error(`${found.path}: its metadata names ${JSON.stringify(name.slice(0, 80))}, not the ${run.settings.task} network run ${dir} trained`);
  }
  // A detection run records its object classes; its network's class 0 is the background (tasks/detection.ts).
  const labels = run.settings.task === 'detection' ? ['background', ...run.classes] : run.classes;
  const { network, report } = denseNetworkFromFile(name as NetworkName, file, found.path, labels.length);
  return {
    model: network, labels, imageSize: run.settings.imageSize, ...DENSE_INPUT,
    source: `${found.path} (${found.kind} checkpoint)`, notes: report.notes,
  };
}

/** Either network: what the inspections (attention, receptive fields) load. */
export type LoadedNetwork = LoadedModel | LoadedDense;

/**
 * The network a source names, whatever its task: a run by the task it recorded, a variant by its family. A
 * segmentation or detection network without weights is a seeded random init with its family's classes (what a
 * classifier without weights is too), with its input made as DENSE_INPUT says.
 */
export function loadNetwork(src: ModelSource): LoadedNetwork {
  const task = src.run !== undefined ? readRun(src.run).settings.task : taskOf(src.variant ?? '');
  if (task !== 'segmentation' && task !== 'detection') return loadModel(src);
  if (src.run !== undefined || src.weights !== undefined) return loadDenseModel(src);
  const name = src.variant as NetworkName;
  const seed = src.seed ?? 0;
  const model = createNetwork(name, src.numClasses, seed) as DenseNetwork;
  return { model, labels: null, imageSize: DENSE_IMAGE_SIZE[task], ...DENSE_INPUT, source: `random init (seed ${seed})`, notes: [] };
}
