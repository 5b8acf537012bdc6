// Detection: boxes with a class each. The dataset is a YOLO folder or COCO JSON (data/detection-scan.ts); the
// network is SSDLite on the run's MobileViT backbone (model/detection.ts), trained with SSD's multibox loss on
// anchors matched before each step (optim/detection-loss.ts, through the box objective) on augmentations that move
// the boxes with the pixels (data/detection-augment.ts). Evaluation: COCO's mAP, AP50, AP75, AP by size and per
// class over the whole validation set (detection-evaluate.ts); the best epoch is the best mAP.
import * as tf from '@tensorflow/tfjs';
import { BufferPool } from '../../data/buffer-pool.ts';
import { DEFAULT_DETECTION_AUGMENT, type DetectionSample } from '../../data/detection-augment.ts';
import { buildDetectionSet, detectionTrainBatches } from '../../data/detection-loader.ts';
import { detectionSummary } from '../../data/dense-summary.ts';
import { scanDetection, type DetectionScan } from '../../data/detection-scan.ts';
import { samplerSizes } from '../../data/sampler.ts';
import { DetectionModel } from '../../model/detection.ts';
import { requireNetworkOn, type DetectionVariantName } from '../../model/registry/index.ts';
import { loadWeights } from '../../model/weights.ts';
import { matchAnchors, packTargets } from '../../optim/detection-loss.ts';
import type { BestEpoch, TrainSettings } from '../../protocol/contract.ts';
import { resolveRecipe } from '../../protocol/recipe.ts';
import { PREFETCH_BATCHES } from '../defaults.ts';
import { openDenseCompute, type DenseSession } from '../dense-compute.ts';
import { evaluateDetection, type DetectionEvaluation } from '../detection-evaluate.ts';
import { initDetector } from '../detection-init.ts';
import type { OpenContext, PrepareContext, PreparedData, ScannedData, TrainingTask } from './task.ts';

/** The SSDLite network on a classifier variant's backbone (mobilevit_xs → ssdlite_mobilevit_xs), as the registry pairs them. */
export function detectionNetwork(variant: string): DetectionVariantName {
  return requireNetworkOn('detection', variant) as DetectionVariantName;
}

/** The run's dataset scanned as a detection dataset; an error naming the folder when it cannot train. */
export async function scanForDetection(s: Pick<TrainSettings, 'data' | 'valFraction' | 'seed'>): Promise<DetectionScan> {
  const scan = await scanDetection(s.data, { valFraction: s.valFraction, seed: s.seed });
  if (scan.problems.length > 0) throw new Error(`dataset ${scan.root} cannot be used for detection: ${scan.problems.join('; ')}`);
  return scan;
}

export const detection: TrainingTask = {
  name: 'detection',

  check(s: TrainSettings): void {
    detectionNetwork(s.variant);
    if (s.augmentation.randAugment) throw new Error('training settings: augmentation.randAugment cannot be used for detection (its ops do not move boxes; detection has its own photometric distortion)');
  },

  async scan(ctx: PrepareContext, s: TrainSettings): Promise<ScannedData> {
    ctx.onPrepare?.('scan', 0, 1);
    const scan = await scanForDetection(s);
    ctx.onPrepare?.('scan', 1, 1);
    const dataset = detectionSummary(scan);
    // Random crops and the evaluation crop are classification's: detection crops by SSD's rule and evaluates
    // whole images, so only the schedule is resolved from the data.
    // A quick run trains its heads by steps: the classifier's closed-form solve (headSolver optimum) has no box loss.
    const fixed = { ...s, headSolver: 'steps' as const, evalCrop: 1, augmentation: { ...s.augmentation, cropScale: [1, 1] as [number, number] } };
    const stats = dataset.imageSize && { shortSide: Math.min(dataset.imageSize.width.median, dataset.imageSize.height.median), trainImages: scan.train.length, classes: scan.classes.length };
    const recipe = ctx.record.recipe ?? resolveRecipe(fixed, ctx.resumed ? null : stats);
    const layout = scan.layout === 'yolo' ? 'YOLO' : 'COCO JSON';
    const boxes = scan.boxesPerClass.map((n, c) => `${scan.classes[c]} ${n}`).join(', ');
    const notes = [
      `detection dataset (${layout}): ${scan.train.length} training and ${scan.val.length} validation images, ${scan.classes.length} classes (training boxes: ${boxes}); SSDLite on ${s.variant}`,
      recipe.explanation, ...scan.notes,
    ];
    if (scan.skipped.length) notes.push(`${scan.skipped.length} problem(s) in the dataset: ${scan.skipped.slice(0, 5).map((f) => `${f.path} (${f.reason})`).join('; ')}${scan.skipped.length > 5 ? '; …' : ''}`);
    return { classes: scan.classes, dataset, recipe, trainImages: scan.train.length, notes, open: (octx) => open(octx, scan) };
  },

  metrics(e) {
    const { loss, top1, map, ap50, ap75, apSmall, apMedium, apLarge, perClassAp } = e as DetectionEvaluation;
    return { loss, top1, top5: null, map, ap50, ap75, apSmall, apMedium, apLarge, perClassAp };
  },
  best: (epoch, e): BestEpoch => ({ epoch, top1: e.top1, loss: e.loss, map: (e as DetectionEvaluation).map }),
  improves: (next, best) => best === null || next.map! > best.map! || (next.map === best.map && next.loss < best.loss),
};

/** The anchors of a `size` × `size` input: those of the feature maps the network makes of it (one pass of zeros). */
function anchorsAt(model: DetectionModel, size: number): Float32Array {
  const x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
  const out = model.forward(x);
  tf.dispose([x, out.boxDeltas, out.classLogits]);
  return out.anchors;
}

/** One training sample's anchor targets, packed into its row of labels (crowd regions do not train). */
function encoder(anchors: Map<number, Float32Array>) {
  return (sample: DetectionSample, size: number): Int32Array => {
    const at = anchors.get(size);
    if (!at) throw new Error(`detection batch: no anchors for ${size} px (the sampler's sizes are ${[...anchors.keys()].join(', ')})`);
    const keep = [...sample.crowd.keys()].filter((i) => sample.crowd[i] === 0);
    const boxes = new Float32Array(keep.length * 4);
    keep.forEach((i, k) => boxes.set(sample.boxes.subarray(4 * i, 4 * i + 4), 4 * k));
    return packTargets(matchAnchors(boxes, Int32Array.from(keep, (i) => sample.labels[i]), at));
  };
}

async function open(ctx: OpenContext, scan: DetectionScan): Promise<PreparedData> {
  const s = ctx.record.settings;
  const network = detectionNetwork(s.variant);
  // Drawn from the run's seed here, as a classifier's: the same seed gives the same start. Class 0 is the background.
  const model = new DetectionModel(network, scan.classes.length + 1, s.seed);
  let session: DenseSession<DetectionModel> | null = null;
  try {
    const resume = ctx.checkpoint;
    if (resume) loadWeights(model, resume.weights, { allowHeadMismatch: false, source: resume.source });
    // A checkpoint's weights replace these: --weights starts a run, it does not resume one.
    const notes = !resume && s.weights ? initDetector(model, s.variant, s.weights, scan.classes) : [];
    const evalSet = scan.val.length === 0 ? null
      : await buildDetectionSet(scan.val, s.imageSize, { signal: ctx.signal, onProgress: (d, t) => ctx.onPrepare?.('eval-set', d, t) });
    if (!evalSet) notes.push('no validation images: epochs report training metrics only');
    const anchors = new Map(samplerSizes(ctx.sampler).map((size) => [size, anchorsAt(model, size)]));
    const settings = ctx.trainer(true);
    if (s.headOnly) notes.push(`quick fine-tune: the backbone frozen (inference mode), the extra layers and heads train${s.weights ? '' : ' (without weights: on a randomly initialised backbone)'}; each batch is one pass`);
    session = await openDenseCompute(ctx.device, model, settings, s.headOnly, resume?.state);
    ctx.announce(scan.train.length, notes, ctx.device.info.name);
    const run = session;
    const augment = { ...DEFAULT_DETECTION_AUGMENT, hflip: s.augmentation.hflip ? DEFAULT_DETECTION_AUGMENT.hflip : 0 };
    const buffers = new BufferPool();
    const encode = encoder(anchors);
    return {
      compute: run.compute,
      averaged: settings.emaDecay !== null,
      network,
      batches: (epoch, startBatch) => detectionTrainBatches(scan.train, { sampler: ctx.sampler, epoch, startBatch, augment, prefetch: PREFETCH_BATCHES, buffers, encode }),
      evaluate: evalSet && ((which, batchSize) => run.evaluate(which, (net) => evaluateDetection(net, evalSet, batchSize, scan.classes))),
    };
  } catch (e) {
    if (session) await session.compute.dispose();
    else model.dispose(); // a second dispose (openDenseCompute's, when it failed) frees nothing
    throw e;
  }
}
