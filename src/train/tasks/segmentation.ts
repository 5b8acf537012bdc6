// Segmentation: a class per pixel. The dataset is a folder of images and masks (PASCAL VOC, or images/ + masks/:
// data/segmentation-scan.ts); the network is DeepLabv3 on the run's MobileViT backbone (model/segmentation.ts),
// trained with the pixel cross-entropy (ignore 255) on augmentations that move the mask with the image
// (data/segmentation-augment.ts). Evaluation: mIoU, pixel and mean class accuracy over the whole validation set.
import { buildMaskSet, maskTrainBatches } from '../../data/segmentation-loader.ts';
import { DEFAULT_SEGMENTATION_AUGMENT } from '../../data/segmentation-augment.ts';
import { segmentationSummary } from '../../data/dense-summary.ts';
import { scanSegmentation, type SegmentationScan } from '../../data/segmentation-scan.ts';
import { BufferPool } from '../../data/buffer-pool.ts';
import { SegmentationModel } from '../../model/segmentation.ts';
import { loadWeights } from '../../model/weights.ts';
import { requireNetworkOn, type SegmentationVariantName } from '../../model/registry/index.ts';
import type { BestEpoch, TrainSettings } from '../../protocol/contract.ts';
import { openDenseCompute, type DenseSession } from '../dense-compute.ts';
import { initSegmentation } from '../segmentation-init.ts';
import { PREFETCH_BATCHES } from '../defaults.ts';
import { resolveRecipe } from '../../protocol/recipe.ts';
import { evaluateSegmentation, type SegmentationEvaluation } from '../segmentation-evaluate.ts';
import type { OpenContext, PrepareContext, PreparedData, ScannedData, TrainingTask } from './task.ts';

/** The DeepLabv3 network on a classifier variant's backbone (mobilevit_xs → deeplabv3_mobilevit_xs), as the registry pairs them. */
export function segmentationNetwork(variant: string): SegmentationVariantName {
  return requireNetworkOn('segmentation', variant) as SegmentationVariantName;
}

/** The settings a segmentation run cannot take, each with why; empty when it can train. */
function refusals(s: TrainSettings): string[] {
  const out: string[] = [];
  if (s.headOnly) out.push('headOnly (a quick fine-tune solves a classifier on pooled features; a segmentation head reads a feature map)');
  return out;
}

/** The run's dataset scanned as a segmentation dataset; an error naming the folder when no pair can train. */
export async function scanForSegmentation(s: Pick<TrainSettings, 'data' | 'valFraction' | 'seed'>): Promise<SegmentationScan> {
  const scan = await scanSegmentation(s.data, { valFraction: s.valFraction, seed: s.seed });
  if (scan.problems.length > 0) throw new Error(`dataset ${scan.root} cannot be used for segmentation: ${scan.problems.join('; ')}`);
  return scan;
}

export const segmentation: TrainingTask = {
  name: 'segmentation',

  check(s: TrainSettings): void {
    segmentationNetwork(s.variant);
  },

  async scan(ctx: PrepareContext, s: TrainSettings): Promise<ScannedData> {
    const refused = refusals(s);
    if (refused.length) throw new Error(`segmentation cannot take ${refused.join('; ')}`);
    ctx.onPrepare?.('scan', 0, 1);
    const scan = await scanForSegmentation(s);
    ctx.onPrepare?.('scan', 1, 1);
    const dataset = segmentationSummary(scan);
    // Random crops and the evaluation crop are classification's: segmentation scales and crops by its own recipe
    // and evaluates whole images, so only the schedule is resolved from the data.
    const fixed = { ...s, evalCrop: 1, augmentation: { ...s.augmentation, cropScale: [1, 1] as [number, number] } };
    const stats = dataset.imageSize && { shortSide: Math.min(dataset.imageSize.width.median, dataset.imageSize.height.median), trainImages: scan.train.length, classes: scan.classes.length };
    const recipe = ctx.record.recipe ?? resolveRecipe(fixed, ctx.resumed ? null : stats);
    const layout = scan.layout === 'voc' ? 'PASCAL VOC' : 'images/ + masks/';
    const names = { voc: 'the VOC names', 'labels.txt': 'names from labels.txt', numbered: 'numbered' }[scan.classSource];
    const notes = [
      `segmentation dataset (${layout}): ${scan.train.length} training and ${scan.val.length} validation images, ${scan.classes.length} classes (${names}); DeepLabv3 on ${s.variant}`,
      recipe.explanation, ...scan.notes,
    ];
    if (scan.skipped.length) notes.push(`${scan.skipped.length} file(s) skipped: ${scan.skipped.slice(0, 5).map((f) => `${f.path} (${f.reason})`).join('; ')}${scan.skipped.length > 5 ? '; …' : ''}`);
    return { classes: scan.classes, dataset, recipe, trainImages: scan.train.length, notes, open: (octx) => open(octx, scan) };
  },

  metrics(e) {
    const { loss, top1, miou, pixelAccuracy, meanClassAccuracy, perClassIou } = e as SegmentationEvaluation;
    return { loss, top1, top5: null, miou, pixelAccuracy, meanClassAccuracy, perClassIou };
  },
  best: (epoch, e): BestEpoch => ({ epoch, top1: e.top1, loss: e.loss, miou: (e as SegmentationEvaluation).miou }),
  improves: (next, best) => best === null || next.miou! > best.miou! || (next.miou === best.miou && next.loss < best.loss),
};

async function open(ctx: OpenContext, scan: SegmentationScan): Promise<PreparedData> {
  const s = ctx.record.settings;
  const network = segmentationNetwork(s.variant);
  // Drawn from the run's seed here, as a classifier's: the same seed gives the same start.
  const model = new SegmentationModel(network, scan.classes.length, s.seed);
  let session: DenseSession<SegmentationModel> | null = null;
  try {
    const resume = ctx.checkpoint;
    if (resume) loadWeights(model, resume.weights, { allowHeadMismatch: false, source: resume.source });
    const start = !resume && s.weights ? [initSegmentation(model, s.weights, s.variant, scan.classes)] : [];
    const evalSet = scan.val.length === 0 ? null
      : await buildMaskSet(scan.val, s.imageSize, { signal: ctx.signal, onProgress: (d, t) => ctx.onPrepare?.('eval-set', d, t) });
    const notes = evalSet ? start : [...start, 'no validation images: epochs report training metrics only'];
    const settings = ctx.trainer(true);
    session = await openDenseCompute(ctx.device, model, settings, false, resume?.state);
    ctx.announce(scan.train.length, notes, ctx.device.info.name);
    const run = session;
    const augment = { ...DEFAULT_SEGMENTATION_AUGMENT, hflip: s.augmentation.hflip ? DEFAULT_SEGMENTATION_AUGMENT.hflip : 0 };
    const buffers = new BufferPool();
    return {
      compute: run.compute,
      averaged: settings.emaDecay !== null,
      network,
      batches: (epoch, startBatch) => maskTrainBatches(scan.train, { sampler: ctx.sampler, epoch, startBatch, augment, prefetch: PREFETCH_BATCHES, buffers }),
      evaluate: evalSet && ((which, batchSize) => run.evaluate(which, (net) => evaluateSegmentation(net, evalSet, batchSize, scan.classes))),
    };
  } catch (e) {
    if (session) await session.compute.dispose();
    else model.dispose(); // a second dispose (openDenseCompute's, when it failed) frees nothing
    throw e;
  }
}
