// Classification: a class per image. The dataset is a folder of class folders (data/scan.ts); the recipe is
// resolved from its images; the network is the variant's classifier, trained on the run's compute device
// (compute.ts), or, for a quick fine-tune, its classifier alone on the frozen backbone's cached features
// (head-only.ts). Evaluation: loss, top-1, top-5, per class, confusion, the misclassified files (evaluate.ts).
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_AUGMENT, type AugmentConfig } from '../../data/augment.ts';
import { buildEvalSet, buildTrainSet, trainBatches } from '../../data/loader.ts';
import { maxTrainSize } from '../../data/sampler.ts';
import { assertTrainable, scanDataset, toScanSummary, type DatasetScan } from '../../data/scan.ts';
import { createModel } from '../../model/index.ts';
import { loadWeights } from '../../model/weights.ts';
import type { BestEpoch, TrainSettings } from '../../protocol/contract.ts';
import { DeviceCompute, HeadOnlyCompute, type RunCompute } from '../compute.ts';
import { PREFETCH_BATCHES } from '../defaults.ts';
import { FeatureBank, loadForFineTune, wholeImage } from '../head-only.ts';
import { concrete, datasetStats, resolveRecipe, solvesHead } from '../../protocol/recipe.ts';
import type { OpenContext, PrepareContext, PreparedData, ScannedData, TaskEvaluation, TrainingTask } from './task.ts';

/** The data pipeline's augmentation from the contract's settings. */
export function augmentConfig(s: TrainSettings): AugmentConfig {
  const scale = concrete(s.augmentation.cropScale, 'augmentation.cropScale');
  return { ...DEFAULT_AUGMENT, scale, hflip: s.augmentation.hflip ? 0.5 : 0, colorJitter: s.augmentation.colorJitter, randAugment: s.augmentation.randAugment };
}

function describeSkipped(scan: DatasetScan): string | null {
  const n = scan.skipped.length;
  if (n === 0) return null;
  const shown = scan.skipped.slice(0, 5).map((f) => `${f.path} (${f.reason})`).join('; ');
  return `${n} file(s) could not be read and are skipped: ${shown}${n > 5 ? `; … and ${n - 5} more` : ''}`;
}

export const classification: TrainingTask = {
  name: 'classification',
  check: (s) => void augmentConfig(s),

  async scan(ctx: PrepareContext, s: TrainSettings): Promise<ScannedData> {
    const scan = await scanDataset(s.data, { valFraction: s.valFraction, seed: s.seed, signal: ctx.signal, onProgress: (p) => ctx.onPrepare?.('scan', p.done, p.total) });
    assertTrainable(scan);
    // Resolved once, when the run first starts; a resume uses the record (one from before recipes: the reference).
    const recipe = ctx.record.recipe ?? resolveRecipe(s, ctx.resumed ? null : datasetStats(scan));
    const skipped = describeSkipped(scan);
    return {
      classes: scan.classes, dataset: toScanSummary(scan), recipe, trainImages: scan.train.length,
      notes: [recipe.explanation, ...(skipped ? [skipped] : [])],
      open: (octx) => open(octx, scan),
    };
  },

  metrics: (e) => ({ loss: e.loss, top1: e.top1, top5: e.top5 }),
  best: (epoch, e): BestEpoch => ({ epoch, top1: e.top1, loss: e.loss }),
  improves: (next, best) => best === null || next.top1 > best.top1 || (next.top1 === best.top1 && next.loss < best.loss),
};

async function open(ctx: OpenContext, scan: DatasetScan): Promise<PreparedData> {
  const s = ctx.record.settings;
  const { signal, onPrepare, recipe, sampler } = ctx;
  const notes: string[] = [];
  // The initial weights are drawn (or loaded) here, in this process, whatever the device: the same seed gives
  // the same start on every device, and a checkpoint from one device resumes on another.
  const model = createModel(s.variant, { numClasses: scan.classes.length, seed: s.seed });
  let compute: RunCompute | null = null;
  let modelGone = false;
  try {
    const resume = ctx.checkpoint;
    if (!resume && s.weights) notes.push(...loadForFineTune(model, s.weights, scan.classes).notes);
    if (!resume && s.headOnly && !s.weights) notes.push('headOnly is set without weights: the classifier trains on a randomly initialised, frozen backbone');
    if (!resume && s.freezeBackboneEpochs > 0 && !s.weights) notes.push('freezeBackboneEpochs is set without weights to fine-tune: a randomly initialised backbone is frozen');
    const settings = ctx.trainer(!solvesHead(s));
    if (resume) loadWeights(model, resume.weights, { allowHeadMismatch: false, source: resume.source });

    const augment = augmentConfig(recipe.settings);
    // A quick run on whole-image views reads its training images through the evaluation transform alone (below):
    // the training cache, another decode of every image, would go unused.
    const wholeImageViews = s.headOnly && wholeImage(augment);
    const trainSet = wholeImageViews ? null
      : await buildTrainSet(scan.train, { maxTrainSize: maxTrainSize(sampler), signal, onProgress: (d, t) => onPrepare?.('cache', d, t) });
    if (trainSet?.cachePlan.reduced) notes.push(`training images are cached with a shorter side of ${trainSet.cachePlan.shortSide} px to fit the memory budget`);
    // The evaluation transform: of the validation images, and of a quick run's training images (its views).
    const evalView = { cropPct: recipe.settings.evalCrop };
    const evalSet = scan.val.length === 0 ? null
      : await buildEvalSet(scan.val, s.imageSize, { ...evalView, signal, onProgress: (d, t) => onPrepare?.('eval-set', d, t) });
    if (!evalSet) notes.push('no validation images: epochs report training metrics only');
    const labels = Int32Array.from(scan.train, (e) => e.label);
    ctx.announce(scan.train.length, notes, s.headOnly ? tf.getBackend() : ctx.device.info.name);

    let bank: FeatureBank | null = null;
    if (s.headOnly) {
      const training = trainSet ?? await buildEvalSet(scan.train, s.imageSize, { ...evalView, signal, onProgress: (d, t) => onPrepare?.('eval-set', d, t) });
      bank = await FeatureBank.build(model, training, evalSet, {
        size: s.imageSize, augment, seed: s.seed, signal, onProgress: (d, t) => onPrepare?.('features', d, t),
        onNote: (note) => ctx.warn(note), device: ctx.device,
      });
      compute = new HeadOnlyCompute(model, bank, settings, resume?.state, resume?.state.source);
    } else {
      compute = await DeviceCompute.open(ctx.device, model, settings, { state: resume?.state, validation: { variant: s.variant, numClasses: model.numClasses, onNote: (note) => ctx.warn(note) } });
      model.dispose();
    }
    modelGone = true;
    const run = compute;
    const headOnly = run instanceof HeadOnlyCompute ? run : null;
    return {
      compute: run,
      averaged: settings.emaDecay !== null,
      network: s.variant,
      batches: (epoch, startBatch) => bank ? bank.batches(sampler, epoch, startBatch, labels)
        : trainBatches(trainSet!, { sampler, epoch, startBatch, augment, prefetch: PREFETCH_BATCHES }),
      evaluate: evalSet && ((which, batchSize): Promise<TaskEvaluation> => run.evaluate(which, evalSet, batchSize, scan.classes)),
      ...(headOnly && solvesHead(s) ? {
        solve: (seed: number) => {
          const fit = headOnly.solve(labels, seed);
          return { summary: fit.summary, loss: fit.train.loss, top1: fit.train.top1, rows: bank!.views * scan.train.length };
        },
      } : {}),
    };
  } catch (e) {
    await compute?.dispose();
    if (!modelGone && !compute) model.dispose();
    throw e;
  }
}
