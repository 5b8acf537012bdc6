// The contract's inspection domain: evaluation, predictions, attention, receptive fields and profiles.
import { z } from 'zod';
import { DisplayDataUrl, NetworkName, Prediction, RunId } from './common.ts';
import { INFERENCE_RUNTIMES } from './devices.ts';
import { finite, prob } from './fields.ts';

/** What every evaluation of a run says besides its scores: the checkpoint, the classes in label order, the loss, the runtime. */
const evaluated = {
  checkpoint: z.enum(['best', 'last']),
  classes: z.array(z.string()),
  loss: finite,
  /** The runtime that computed the outputs (the inference runtime rule) and where and why, in words. */
  runtime: z.enum(INFERENCE_RUNTIMES).optional(),
  runtimeNote: z.string().optional(),
};

/** A classifier's evaluation: accuracies, the confusion of images, and the most confident mistakes. */
export const ClassEvalOutcome = z.object({
  task: z.literal('classification'),
  ...evaluated,
  /** confusion[true][predicted] = count. */
  confusion: z.array(z.array(z.number().int())),
  perClass: z.array(z.object({ class: z.string(), accuracy: prob.nullable(), count: z.number().int() })),
  top1: prob,
  top5: prob.nullable(),
  /** Most confident mistakes first; file is the image's full path. */
  misclassified: z.array(z.object({
    file: z.string(), trueClass: z.string(), predictedClass: z.string(), confidence: prob, thumbnail: DisplayDataUrl,
  })),
  /** Misclassified files beyond those returned with thumbnails. */
  misclassifiedTotal: z.number().int(),
});

/** Where a segmentation or detection run's evaluation ran: the images counted and the size they ran at. */
const denseEvaluated = { ...evaluated, count: z.number().int().nonnegative(), imageSize: z.number().int().positive() };

/**
 * A segmentation network's: intersections and unions accumulated over every labelled pixel of the validation set
 * (255 excluded), and the images it segments worst, each scored on its own.
 */
export const SegmentEvalOutcome = z.object({
  task: z.literal('segmentation'),
  ...denseEvaluated,
  miou: prob,
  pixelAccuracy: prob,
  meanClassAccuracy: prob,
  /** Label order; null where the class is in neither the labels nor the predictions. */
  perClassIou: z.array(prob.nullable()),
  /** Label order; null where the class has no labelled pixel. */
  perClassAccuracy: z.array(prob.nullable()),
  /** confusion[true][predicted] = labelled pixels. */
  confusion: z.array(z.array(z.number().int().nonnegative())),
  /** Labelled pixels counted. */
  pixels: z.number().int().nonnegative(),
  /** Lowest mIoU first: the image's and its mask's full paths, its own mIoU and pixel accuracy, a thumbnail. */
  worstImages: z.array(z.object({ file: z.string(), mask: z.string(), miou: prob, pixelAccuracy: prob, thumbnail: DisplayDataUrl })),
});

/** A detector's: COCO's average precisions over the validation set. */
export const DetectEvalOutcome = z.object({
  task: z.literal('detection'),
  ...denseEvaluated,
  map: prob,
  ap50: prob,
  ap75: prob,
  apSmall: prob.nullable(),
  apMedium: prob.nullable(),
  apLarge: prob.nullable(),
  /** Of the anchors matched to a box, the share whose top class is the box's. */
  top1: prob,
  /** AP (.50:.95) per class in label order (no background); null where the class has no box. */
  perClassAp: z.array(prob.nullable()),
  /** Per class: the interpolated precision at the 101 recall points 0:.01:1 at IoU .50 (null without boxes). */
  precisionAt50: z.array(z.array(prob).nullable()),
  /** The score an image's misses are counted at: the boxes the Detect view shows unasked. */
  missScore: prob,
  /**
   * The images with the most misses and false positives at missScore (matched at IoU .50), worst first: the image's
   * full path, its boxes no detection found, its detections that found no box, its boxes (crowd regions left out).
   */
  mostMissed: z.array(z.object({
    file: z.string(), missed: z.number().int().nonnegative(), falsePositives: z.number().int().nonnegative(), boxes: z.number().int().nonnegative(), thumbnail: DisplayDataUrl,
  })),
  /** Images with at least one miss or false positive, of `count`. */
  imagesWithMisses: z.number().int().nonnegative(),
});

/** An evaluation as the engine answers it: by the run's task. */
export const EvalOutcome = z.discriminatedUnion('task', [ClassEvalOutcome, SegmentEvalOutcome, DetectEvalOutcome]);
export type EvalOutcome = z.infer<typeof EvalOutcome>;

const ofRun = { runId: RunId };
/** eval.run's answer: the run's evaluation by its task. */
export const EvalResult = z.discriminatedUnion('task', [ClassEvalOutcome.extend(ofRun), SegmentEvalOutcome.extend(ofRun), DetectEvalOutcome.extend(ofRun)]);
export type EvalResult = z.infer<typeof EvalResult>;
export type ClassEvalResult = Extract<EvalResult, { task: 'classification' }>;
export type SegmentEvalResult = Extract<EvalResult, { task: 'segmentation' }>;
export type DetectEvalResult = Extract<EvalResult, { task: 'detection' }>;

/**
 * The input size the model's source records (a run's training size, a zoo model's evaluation size); null when it
 * records none. The window warns when an inspection's imageSize differs from it.
 */
const recordedImageSize = z.number().int().nullable();

/** What every prediction says besides its answer: the input size it ran at, the recorded one, how long it took. */
const predictionRun = { imageSize: z.number().int(), recordedImageSize, ms: finite };

/** A classifier's: its five most probable classes. */
export const ClassPredictResult = z.object({ task: z.literal('classification'), top5: z.array(Prediction), ...predictionRun });
export type ClassPredictResult = z.infer<typeof ClassPredictResult>;

/** A segmentation network's: the class of every pixel of the image at the image's own size, and each class's share. */
export const SegmentPredictResult = z.object({
  task: z.literal('segmentation'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /**
   * An 8-bit palette PNG, width × height: the palette index of a pixel is its class; the palette is PASCAL VOC's,
   * the background (class 0) transparent so that the map laid over the image leaves it showing.
   */
  classMap: DisplayDataUrl,
  /** Every class in label order, with its share of the image's pixels and its colour in the class map's palette. */
  classes: z.array(z.object({
    index: z.number().int(), label: z.string(), share: prob, colour: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  })),
  /** When the request gave the image's mask: it in the same palette (ignore pixels transparent too), and the prediction scored against it (ignore pixels excluded). */
  groundTruth: z.object({
    classMap: DisplayDataUrl,
    miou: prob,
    pixelAccuracy: prob,
    /** Label order; null where the class is in neither the mask nor the prediction. */
    perClassIou: z.array(prob.nullable()),
  }).optional(),
  ...predictionRun,
});
export type SegmentPredictResult = z.infer<typeof SegmentPredictResult>;

/** A detector's: the objects scoring above the threshold, boxes (x0, y0, x1, y1) in the image's own pixels. */
export const DetectPredictResult = z.object({
  task: z.literal('detection'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  scoreThreshold: prob,
  /** In post-processing's order: by class, then by score within a class. */
  detections: z.array(z.object({
    index: z.number().int().positive(), label: z.string(), score: prob, box: z.tuple([finite, finite, finite, finite]),
    /** The class's colour in PASCAL VOC's palette, as `predict --out` draws it. */
    colour: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  })),
  /** When the image was given by its path and is one of the run's dataset's: its boxes (x0, y0, x1, y1 px), crowd regions marked. */
  groundTruth: z.array(z.object({
    index: z.number().int().positive(), label: z.string(), box: z.tuple([finite, finite, finite, finite]), crowd: z.boolean(),
    colour: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  })).optional(),
  ...predictionRun,
});
export type DetectPredictResult = z.infer<typeof DetectPredictResult>;

/** A prediction, told apart by the task of the model that made it. */
export const PredictResult = z.discriminatedUnion('task', [ClassPredictResult, SegmentPredictResult, DetectPredictResult]);
export type PredictResult = z.infer<typeof PredictResult>;

/** The MobileViT blocks of a model, for the attention selectors. */
export const AttentionBlockInfo = z.object({
  index: z.number().int(), // MobileViT block index from 0
  name: z.string(), // timm module path, e.g. 'stages.2.1'
  layers: z.number().int(),
  heads: z.number().int(),
  grid: z.tuple([z.number().int(), z.number().int()]),
  patch: z.tuple([z.number().int(), z.number().int()]),
});

export const AttentionResult = z.object({
  block: z.number().int(),
  layer: z.number().int().nullable(), // null: rollout
  head: z.union([z.number().int(), z.literal('mean')]),
  patch: z.tuple([z.number().int(), z.number().int()]),
  pixel: z.union([z.tuple([z.number().int(), z.number().int()]), z.literal('mean')]),
  /** [rows, cols] of the patch grid the model actually used (after any resize). */
  grid: z.tuple([z.number().int(), z.number().int()]),
  /** The query's attention over the grid, rows × cols, sums to 1. */
  map: z.array(z.array(z.number())),
  /** The heatmap over the input image, PNG. */
  overlay: DisplayDataUrl,
  /** The input image alone as the model saw it (resized, cropped), PNG: the window fades the overlay over it. */
  image: DisplayDataUrl,
  imageSize: z.number().int(),
  recordedImageSize,
  blocks: z.array(AttentionBlockInfo),
  /** A classifier's five most probable classes; empty for a segmentation or detection network (see `dense`). */
  top5: z.array(Prediction),
  /**
   * A segmentation or detection network's prediction from the same forward pass, drawn over `image` (the input as
   * the model saw it, imageSize square): its class map (background left clear) with each class's share, or its boxes
   * above the score threshold, in `image`'s pixels.
   */
  dense: z.discriminatedUnion('task', [
    z.object({ task: z.literal('segmentation'), picture: DisplayDataUrl, classes: SegmentPredictResult.shape.classes }),
    z.object({ task: z.literal('detection'), picture: DisplayDataUrl, scoreThreshold: prob, detections: DetectPredictResult.shape.detections }),
  ]).optional(),
});
export type AttentionResult = z.infer<typeof AttentionResult>;

export const ReceptiveFieldResult = z.object({
  imageSize: z.number().int(),
  blocks: z.array(z.object({
    index: z.number().int(),
    name: z.string(),
    kind: z.string(),
    /** Fraction of input pixels at ≥ 1% of the maximum gradient. */
    coverage: prob,
    /** Fraction of input pixels at ≥ 1e-4 of the maximum gradient. */
    support: prob,
    /** The output location used, in the block's feature map. */
    location: z.tuple([z.number().int(), z.number().int()]),
    featureSize: z.tuple([z.number().int(), z.number().int()]),
    /** The normalised field as a heatmap PNG. */
    map: DisplayDataUrl,
  })),
});
export type ReceptiveFieldResult = z.infer<typeof ReceptiveFieldResult>;

export const ProfileResult = z.object({
  variant: NetworkName,
  backend: z.string(),
  imageSize: z.number().int(),
  batch: z.number().int(),
  runs: z.number().int(),
  /** End-to-end median latency of one forward pass. */
  totalMs: finite,
  /** Sum of the per-block medians (within ~15% of totalMs). */
  blocksMs: finite,
  params: z.number().int(),
  macs: z.number(),
  blocks: z.array(z.object({
    name: z.string(),
    kind: z.string(),
    ms: finite,
    params: z.number().int(),
    macs: z.number(),
    /** The family's name for a block of its head (the registry's blockLabels): 'ASPP…', 'Head of level 1 (stride 16)'. */
    label: z.string().optional(),
    /**
     * A block split into parts, in the order the pass runs them: a MobileViT block's (model/types.ts PART_NAMES; the
     * transformer part also carries each layer's ms), DeepLabv3's ASPP branches and projection.
     */
    parts: z.array(z.object({ name: z.string(), ms: finite, layers: z.array(finite).optional() })),
  })),
  /** The device that measured it, in a user's words (device/describe.ts), e.g. a software WebGPU adapter. */
  device: z.string().optional(),
  /**
   * How the boundaries were timed. 'sync': the pass waits for the device at each of `syncs` boundaries (a
   * 1-element read-back, `syncMs` each with nothing queued; the block times include them). 'cuts': where a
   * synchronous read does not wait (webgpu), the pass is cut at each boundary in turn and the read-back awaited:
   * `syncs` cuts a run, `syncMs` the read-back's latency, which cancels out of the block times.
   */
  timing: z.object({ method: z.enum(['sync', 'cuts']), syncMs: finite, syncs: z.number().int() }).optional(),
});
export type ProfileResult = z.infer<typeof ProfileResult>;
