// The contract's training domain: a run's settings, the Train view's state and the typed event stream.
import { z } from 'zod';
import { TASKS } from '../model/registry/types.ts';
import { MAX_INPUT_SIZE, MIN_INPUT_SIZE } from '../model/types.ts';
import { FsPath, RunId, VariantName } from './common.ts';
import { DEFAULT_VAL_FRACTION, ValFraction } from './datasets.ts';
import { auto, finite, int, prob } from './fields.ts';

export const Augmentation = z
  .object({
    cropScale: auto(z.tuple([prob, prob]))
      .default('auto')
      .describe('random-resized crop area range "lo,hi" (reference 0.08,1; 1,1 = whole image), or auto: images within 1.25x the training size get none (0.5,1 from 20 epochs), larger ones 0.25,1 (0.08,1 from 10 epochs)'),
    hflip: z.boolean().default(true).describe('random horizontal flip'),
    colorJitter: z.number().min(0).max(1).default(0).describe('colour jitter strength (brightness, contrast, saturation); 0 = off, as the reference'),
    randAugment: z.boolean().default(false).describe('timm\'s RandAugment rand-m9-mstd0.5 after the crop and flip: 2 of 15 ops per image, each applied with probability 0.5 at magnitude 9 of 10 (noise std 0.5); needs colorJitter 0, as timm turns jitter off with it'),
  })
  .strict();

/**
 * What a model learns (the task axis): a class per image, a class per pixel, or boxes with classes. A run's task
 * picks its dataset scan, network, loss and metrics (src/train/tasks/); the run folder and the transports are the
 * same for every task. Detection has its network and loss but does not train yet.
 */
export const TaskName = z.enum(TASKS); // the model registry's tasks: each family serves one
export type TaskName = z.infer<typeof TaskName>;

export const TrainSettings = z
  .object({
    data: FsPath.describe('dataset folder'),
    task: TaskName.default('classification')
      .describe('classification (root/<class>/<image>) or segmentation (images/ + masks/, or PASCAL VOC: DeepLabv3 on the variant\'s backbone); a run recorded without it is classification'),
    variant: VariantName.default('mobilevit_xxs').describe('model architecture (segmentation: the backbone under DeepLabv3)'),
    weights: FsPath.optional().describe('pretrained weights to fine-tune: a .safetensors file (timm or Hugging Face names) or a zoo model (models list); the head is kept only for the same labels'),
    imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).default(256).describe('training resolution in px; with multi-scale the base of the resolution set'),
    multiScale: z.boolean().default(false).describe("the paper's multi-scale sampler around the image size (batch scaled by (base/size)^2)"),
    epochs: int(1, 10_000).default(30).describe('epochs'),
    batchSize: int(1, 4096).default(32).describe('batch size at the image size'),
    lr: z.number().positive().max(10).default(0.002).describe('peak learning rate of AdamW'),
    warmupEpochs: auto(z.number().min(0).max(1000))
      .default('auto')
      .describe('linear warm-up length in epochs, or auto: about 50 steps, at least 1 epoch, at most a fifth of the run'),
    minLrRatio: auto(z.number().min(0).max(1))
      .default('auto')
      .describe('floor of the cosine decay as a fraction of the peak lr (reference 0.1), or auto: 0.01 for runs under 10 epochs, else 0.1'),
    labelSmoothing: z.number().min(0).max(0.99).default(0.1).describe('label smoothing'),
    weightDecay: z.number().min(0).max(10).default(0.01).describe('AdamW weight decay'),
    gradClip: z.number().positive().nullable().default(10).describe('global gradient-norm clip; none = no clipping'),
    ema: z.boolean().default(false).describe('keep an exponential moving average of the weights and evaluate it'),
    freezeBackboneEpochs: int(0, 10_000).default(0).describe('train only the classifier for the first N epochs (fine-tuning)'),
    headOnly: z.boolean().default(false)
      .describe('quick fine-tune: the backbone stays frozen for the whole run, its features are computed once per image (its evaluation view and mirror; a few random views with explicit crops or jitter) and only the classifier trains'),
    headSolver: z.enum(['optimum', 'steps']).default('optimum')
      .describe('how a quick fine-tune trains its classifier: optimum = solved to its optimum on the cached features (full-batch L-BFGS, weight decay chosen on a held-out fold; lr, epochs and the schedule are not used), steps = AdamW steps with lr and epochs as a full run (the CLI picks it when --lr or --epochs is given)'),
    valFraction: ValFraction.default(DEFAULT_VAL_FRACTION).describe('validation share when the folder has no val/'),
    seed: int(0, 2 ** 31 - 1).default(0).describe('seed of the split, sampler, augmentation, init and dropout'),
    evalCrop: auto(z.number().gt(0).max(1))
      .default('auto')
      .describe('evaluation centre-crop fraction (timm 0.9: resize to size/0.9, crop the centre; 1 = whole image), or auto: 1 when images are about the training size, else 0.9'),
    augmentation: Augmentation.default({}),
    // No backend here: the engine's backend is a studio setting (settings.set), shared by every run.
  })
  .strict();
export type TrainSettings = z.infer<typeof TrainSettings>;
export type TrainSettingsInput = z.input<typeof TrainSettings>;

/**
 * The Train view as a person left it: the dataset folder, the form (every setting but the folder) and the
 * run it showed. Kept in the workspace (views.set), so a reload or a second window shows the same.
 */
export const TrainViewState = z
  .object({ data: FsPath.nullable(), settings: TrainSettings.omit({ data: true }), runId: RunId.nullable() })
  .strict();
export type TrainViewState = z.infer<typeof TrainViewState>;

/**
 * An evaluation's numbers in the event stream. top1: of images, or for segmentation of labelled pixels (the
 * pixel accuracy); segmentation adds mIoU, mean class accuracy and the IoU of each class in label order (null
 * where a class is in neither the labels nor the predictions). Detection (top1: of the anchors matched to a box,
 * those whose class is right) adds COCO's mAP (.50:.95), AP50, AP75, AP of small, medium and large boxes (null
 * where none is that size) and the AP of each class in label order (null where a class has no box).
 */
const Metrics = z.object({
  loss: finite, top1: prob, top5: prob.nullable().optional(),
  miou: prob.optional(), pixelAccuracy: prob.optional(), meanClassAccuracy: prob.optional(), perClassIou: z.array(prob.nullable()).optional(),
  map: prob.optional(), ap50: prob.optional(), ap75: prob.optional(),
  apSmall: prob.nullable().optional(), apMedium: prob.nullable().optional(), apLarge: prob.nullable().optional(),
  perClassAp: z.array(prob.nullable()).optional(),
});

/** The best epoch so far: by top-1, for segmentation by mIoU, for detection by mAP (then also given). */
export const BestEpoch = z.object({ epoch: z.number().int(), top1: prob, loss: finite, miou: prob.optional(), map: prob.optional() });
export type BestEpoch = z.infer<typeof BestEpoch>;

// Unknown fields are stripped: metrics.jsonl may carry more than the UI shows. time: ms since the epoch.
const ev = <L extends string, T extends z.ZodRawShape>(type: L, shape: T) =>
  z.object({ type: z.literal(type), time: z.number(), ...shape });

/** The typed training event stream (issue 3 item 8): what metrics.jsonl stores and the UI receives. */
export const TrainEvent = z.discriminatedUnion('type', [
  ev('started', {
    epoch: z.number().int(), step: z.number().int(), totalEpochs: z.number().int(),
    stepsPerEpoch: z.number().int().optional(), resumed: z.boolean(), backend: z.string().optional(),
    // Added by src/train: the run (the CLI's JSON stream has no train.event wrapper) and the exact step total.
    runId: RunId.optional(), totalSteps: z.number().int().optional(),
  }),
  ev('step', {
    epoch: z.number().int(), step: z.number().int(), loss: finite, lr: finite,
    imagesPerSec: finite, dataWaitMs: finite, resolution: z.number().int(), batchSize: z.number().int(),
    // Added by src/train: top-1 on this training batch, and the batch's place in its epoch (1-based).
    acc: prob.optional(), batch: z.number().int().optional(), batches: z.number().int().optional(),
  }),
  ev('epoch', {
    epoch: z.number().int(), step: z.number().int(), lr: finite.optional(), seconds: finite.optional(),
    train: Metrics, val: Metrics.nullable(),
  }),
  ev('checkpoint', { epoch: z.number().int(), step: z.number().int(), kind: z.enum(['last', 'best']) }),
  ev('warning', { message: z.string() }),
  ev('finished', {
    epoch: z.number().int(), step: z.number().int(), val: Metrics.nullable(),
    // Added by src/train: the best epoch and the weights file a user takes away (timm names).
    best: BestEpoch.nullable().optional(), weights: z.string().optional(),
  }),
  ev('stopped', { epoch: z.number().int(), step: z.number().int(), reason: z.enum(['stop', 'pause']) }),
  ev('failed', { error: z.string(), epoch: z.number().int().optional(), step: z.number().int().optional() }),
]);
export type TrainEvent = z.infer<typeof TrainEvent>;
/** What a run does before its first step, with the words the CLI and the window show for it. */
export const PREPARE_LABELS = {
  scan: 'checking images',
  cache: 'decoding training images',
  'eval-set': 'preparing validation images',
  features: 'computing backbone features (head-only)',
  devices: 'measuring the compute devices',
} as const;
export type PrepareTask = keyof typeof PREPARE_LABELS;
