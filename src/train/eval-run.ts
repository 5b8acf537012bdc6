// Evaluating a trained model outside the training loop: a run's checkpoint (best, else last) on its
// own validation set, or any weights file on a dataset folder.
//
// Which images: a dataset with a val/ folder is evaluated on that folder. A flat folder evaluated
// with a run that trained on it uses the run's own seeded split (its validation images, never its
// training images); any other flat folder is evaluated on all of its images.
import { resolve } from 'node:path';
import { buildEvalSet } from '../data/loader.ts';
import { assertTrainable, scanDataset, type ImageEntry } from '../data/scan.ts';
import { loadModel } from '../run/model.ts';
import { readSafetensors } from '../model/safetensors.ts';
import { evaluateSet, type EvalModel, type Evaluation } from './evaluate.ts';
import type { Model } from '../model/model.ts';
import { TrainSettings } from '../protocol/contract.ts';
import { datasetStats, resolveRecipe } from '../protocol/recipe.ts';
import { inferencePreprocessing } from '../protocol/recipe.ts';
import type { Interpolation } from '../util/interpolation.ts';
import { readRun, type CheckpointKind } from '../run/index.ts';
import type { Heap } from '../model/memory.ts';
import { batchThatFits } from '../device/pass-budget.ts';
import type { InferenceRuntime } from '../protocol/devices.ts';

export interface EvalRunOptions {
  /** A run folder; its variant, classes, image size and checkpoint are used. */
  run?: string;
  checkpoint?: CheckpointKind;
  /** A weights file (timm names) instead of a run; needs `data`. */
  weights?: string;
  variant?: string;
  /** Dataset folder; default: the run's. */
  data?: string;
  /** Default: the run's image size (the zoo model's evaluation size), else 256. */
  imageSize?: number;
  /** Default: the zoo model's resize kernel, else bicubic. */
  interpolation?: Interpolation;
  batchSize?: number;
  /** The heap the passes run in (src/device/heap.ts): batches are cut to what fits it, and a size where one image does not is refused. */
  heap?: Heap;
  /** Centre-crop fraction (1: the whole image); 'auto' or omitted: the run's recorded recipe, else chosen from the dataset. */
  evalCrop?: number | 'auto';
  onProgress?: (task: 'scan' | 'eval-set', done: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * Runs the loaded model elsewhere (a compute device, onnxruntime: train/inference-model.ts), called with the
   * evaluation size and the number of images; its runtime and note, when it gives them, go into the result.
   */
  runtime?: (model: Model, imageSize: number, images: number) => Promise<EvalModel & { dispose(): unknown; runtime?: InferenceRuntime; note?: string }>;
}

export interface EvalRunResult extends Evaluation {
  classes: string[];
  /** What was evaluated, for messages: the weights path and checkpoint. */
  source: string;
  data: string;
  imageSize: number;
  /** The centre-crop fraction used (1: the whole image). */
  evalCrop: number;
  interpolation: Interpolation;
  /** Which images: 'val' (a val/ folder or the run's split) or 'all'. */
  images: 'val' | 'all';
  /** The runtime that computed the logits (TF.js unless the runner says otherwise), and where and why in words. */
  runtime: InferenceRuntime;
  runtimeNote?: string;
}

export async function evaluateModel(opts: EvalRunOptions): Promise<EvalRunResult> {
  if (!opts.run && !opts.weights) throw new Error('give a run folder or a weights file to evaluate');
  if (opts.run && opts.weights) throw new Error('give either a run folder or a weights file, not both');
  const run = opts.run ? readRun(opts.run) : null;
  // A segmentation run evaluates through segmentation-eval-run.ts (the CLI's eval takes it there).
  if (run && run.settings.task !== 'classification') throw new Error(`run ${run.id} trained ${run.settings.task}: this evaluation reports classification only`);
  const data = opts.data ?? run?.settings.data;
  if (!data) throw new Error('a dataset folder is needed to evaluate weights (--data)');
  const ownData = run !== null && resolve(data) === resolve(run.settings.data);
  const scan = await scanDataset(data, {
    valFraction: run?.settings.valFraction, seed: run?.settings.seed, signal: opts.signal,
    onProgress: (p) => opts.onProgress?.('scan', p.done, p.total),
  });
  assertTrainable(scan);
  if (run && run.classes.join('\n') !== scan.classes.join('\n')) {
    throw new Error(`the classes of ${data} (${scan.classes.join(', ')}) are not those run ${run.id} trained on (${run.classes.join(', ')})`);
  }
  const images: 'val' | 'all' = scan.layout === 'split' || ownData ? 'val' : 'all';
  const entries: ImageEntry[] = images === 'val' ? scan.val : [...scan.train, ...scan.val];
  if (entries.length === 0) throw new Error(`${data} has no validation images to evaluate on`);

  const loaded = loadModel(run
    ? { run: opts.run, checkpoint: opts.checkpoint }
    : { weights: opts.weights, variant: opts.variant ?? weightsVariant(opts.weights!), numClasses: scan.classes.length });
  try {
    // A run evaluates as it was evaluated in training, a zoo file as its source does (inferencePreprocessing); a
    // weights file that records no crop takes the recipe's choice for this dataset.
    const { imageSize } = inferencePreprocessing(loaded, { imageSize: opts.imageSize });
    const dataCrop = !run && loaded.evalCrop === null ? resolveRecipe(TrainSettings.parse({ data, imageSize }), datasetStats(scan)).settings.evalCrop : undefined;
    const pre = inferencePreprocessing(loaded, {
      imageSize, cropPct: typeof opts.evalCrop === 'number' ? opts.evalCrop : dataCrop, interpolation: opts.interpolation,
    });
    const evalCrop = pre.cropPct;
    const requested = opts.batchSize ?? run?.settings.batchSize ?? 32;
    const batchSize = opts.heap ? batchThatFits({ what: 'evaluation', variant: loaded.model.variant, size: imageSize, images: requested, kind: 'infer' }, opts.heap) : requested;
    const set = await buildEvalSet(entries, imageSize, { cropPct: evalCrop, interpolation: pre.interpolation, signal: opts.signal, onProgress: (d, t) => opts.onProgress?.('eval-set', d, t) });
    const runner = opts.runtime ? await opts.runtime(loaded.model, imageSize, entries.length) : null;
    let evaluation: Evaluation;
    try {
      evaluation = await evaluateSet(runner ?? loaded.model, set, batchSize, scan.classes);
    } finally {
      await runner?.dispose();
    }
    return {
      ...evaluation, classes: scan.classes, source: loaded.source, data: scan.root, imageSize, evalCrop, interpolation: pre.interpolation, images,
      runtime: runner?.runtime ?? 'tfjs', ...(runner?.note ? { runtimeNote: runner.note } : {}),
    };
  } finally {
    loaded.model.dispose();
  }
}

/** The variant a studio-saved weights file records in its metadata; MobileViT-XXS for other files. */
function weightsVariant(path: string): string {
  return readSafetensors(path).metadata.variant ?? 'mobilevit_xxs';
}
