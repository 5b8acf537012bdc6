// The one typed contract between the window (renderer) and the studio (service + engine): every
// request with its params and result, every event with its payload. Each is a zod schema, so anything
// that crosses a process boundary is validated at runtime, and the TypeScript types are inferred from
// the same schemas. This file must stay free of Node and tfjs imports: the renderer bundles it.
import { z } from 'zod';
import type { EventName, RequestName } from './names.ts';
import { MAX_INPUT_SIZE, MIN_INPUT_SIZE, PART_NAMES, VARIANT_NAMES } from '../model/types.ts';
import { DEFAULT_VAL_FRACTION } from '../data/split.ts';
import { DEVICE_NAMES } from '../backend/names.ts';

export { REQUEST_NAMES, EVENT_NAMES, isRequestName, isEventName } from './names.ts';
export type { RequestName, EventName } from './names.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks

export const VariantName = z.enum(VARIANT_NAMES);
export type VariantName = z.infer<typeof VariantName>;

/**
 * Which compute device to use: an in-process backend or a Chromium page one (webgpu, webgl, wasm-threads);
 * 'auto' measures them at the first training of a variant and size, and takes the fastest (src/device/choose.ts).
 */
export const BackendChoice = z.enum(['auto', ...DEVICE_NAMES]);
export type BackendChoice = z.infer<typeof BackendChoice>;

/** A filesystem path chosen by the user (dialog or typed). NUL bytes are refused: they truncate paths in C. */
export const FsPath = z
  .string()
  .min(1, 'path is empty')
  .max(4096, 'path is longer than 4096 characters')
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte');

/** Image bytes carried inline, e.g. a file dropped on the window. Up to ~24 MB of image. */
export const ImageDataUrl = z
  .string()
  .max(32 * 1024 * 1024, 'image data URL is larger than 32 MB')
  .regex(/^data:image\/(png|jpeg|webp|gif|tiff|avif);base64,[A-Za-z0-9+/]+={0,2}$/, 'not a base64 image data URL');

/** A PNG/JPEG/WebP produced by the studio for display (thumbnails, overlays, heatmaps). */
export const DisplayDataUrl = z.string().regex(/^data:image\/(png|jpeg|webp);base64,/, 'not an image data URL');

export const ImageInput = z.union([
  z.object({ path: FsPath }).strict(),
  z.object({ dataUrl: ImageDataUrl }).strict(),
]);
export type ImageInput = z.infer<typeof ImageInput>;

export const RunId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'not a run id');

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** The input sides a model takes, px: the schema's rule, which the window's size fields show as their range. */
export const INPUT_SIZE_RANGE = { min: MIN_INPUT_SIZE, max: MAX_INPUT_SIZE } as const;
/** The share of each class held out for validation when a folder has no val/. */
const ValFraction = z.number().min(0.01).max(0.9);
const finite = z.number().finite();
const prob = z.number().min(0).max(1);
const Cell = z.tuple([int(0, 4096), int(0, 4096)]);

/** Class names for a model: as many as the model may have classes (100,000), each one short line. */
export const ClassLabels = z
  .array(z.string().max(200, 'a label is longer than 200 characters'))
  .min(1, 'labels is empty')
  .max(100_000, 'more than 100,000 labels (the most classes a model may have)');

/** The model a request runs on: a run's checkpoint, or a variant with optional imported weights. */
export const ModelRef = z.union([
  z.object({ runId: RunId, checkpoint: z.enum(['best', 'last']).default('best') }).strict(),
  z
    .object({
      variant: VariantName,
      weights: FsPath.optional(), // safetensors with timm names; omitted: seeded random init
      numClasses: int(1, 100_000).optional(),
      labels: ClassLabels.optional(),
    })
    .strict(),
]);
export type ModelRef = z.infer<typeof ModelRef>;

export const Prediction = z.object({ index: z.number().int(), label: z.string(), prob });
export type Prediction = z.infer<typeof Prediction>;

// ---------------------------------------------------------------------------------------------
// App, settings, dialogs

/** The compute device the engine holds open (src/device/wire.ts's DeviceInfo, for the window). */
export const DeviceReport = z.object({
  /** The studio's name: an in-process backend (wasm, tensorflow…) or a page one (webgpu, webgl, wasm-threads). */
  name: z.string(),
  /** "this process", "headless Chromium 150…", "Electron hidden window…". */
  host: z.string(),
  /** The GPU adapter or CPU threads, in a user's words. */
  adapter: z.string().nullable(),
  /** A software GPU adapter (SwiftShader): correct but slow. */
  software: z.boolean(),
});
export type DeviceReport = z.infer<typeof DeviceReport>;

export const BackendReport = z.object({
  /** The studio's name of what computes: an in-process backend (tensorflow, wasm, cpu…) or a page one (webgpu…). */
  active: z.string(),
  /** Whether the active backend runs on a GPU. */
  gpu: z.boolean(),
  /** Why this backend was picked, one line. */
  reason: z.string(),
  tried: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  /** How to get a faster backend on this machine, when there is one. */
  fasterHint: z.string().optional(),
  /** The compute device the engine holds open (src/device/): which, where, and on which adapter. */
  device: DeviceReport.optional(),
});
export type BackendReport = z.infer<typeof BackendReport>;

/** One device's measured training speed (src/device/auto.ts), or why it has none. */
export const DeviceSpeed = z.object({
  device: z.string(),
  /** Null: its page did not start. */
  host: z.string().nullable(),
  adapter: z.string().nullable(),
  software: z.boolean(),
  /** Training images per second (forward + backward + optimizer step); null: not measured. */
  imagesPerSecond: z.number().positive().nullable(),
  /** Why there is no number (did not start, skipped by a rule, failed), in a user's words. */
  note: z.string().nullable(),
});
export type DeviceSpeed = z.infer<typeof DeviceSpeed>;

/** The devices of this machine measured on one variant and size, and the one 'auto' takes. */
export const DeviceSpeeds = z.object({
  variant: VariantName,
  imageSize: z.number().int().positive(),
  batch: z.number().int().positive(),
  /** When it was measured, ms since 1970. */
  measuredAt: z.number(),
  rows: z.array(DeviceSpeed),
  chosen: z.string().nullable(),
  /** Why that one, one line. */
  reason: z.string(),
});
export type DeviceSpeeds = z.infer<typeof DeviceSpeeds>;

export const EngineState = z.enum(['idle', 'starting', 'ready', 'crashed', 'stopped']);
export type EngineState = z.infer<typeof EngineState>;

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'browser', 'cli']),
  platform: z.string(),
  versions: z.object({ node: z.string(), tfjs: z.string(), electron: z.string().optional(), chrome: z.string().optional() }),
  workspace: z.string(),
  /** Null until the engine has started once (it starts on first use). */
  backend: BackendReport.nullable(),
  engine: z.object({ state: EngineState, pid: z.number().int().optional(), lastCrash: z.string().optional() }),
  /** Whether native open dialogs exist (Electron); in browser mode the UI shows a path field instead. */
  dialogs: z.boolean(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const Settings = z.object({
  workspace: z.string(),
  backend: BackendChoice,
});
export type Settings = z.infer<typeof Settings>;

export const SettingsPatch = z.object({ workspace: FsPath.optional(), backend: BackendChoice.optional() }).strict();

export const FileFilter = z.object({ name: z.string().max(100), extensions: z.array(z.string().regex(/^[A-Za-z0-9*]{1,10}$/)).max(20) });

export const DialogResult = z.object({ path: z.string().nullable() });

// ---------------------------------------------------------------------------------------------
// Datasets

export const SizeStats = z.object({ min: z.number(), max: z.number(), median: z.number() });

export const ScanSummary = z.object({
  root: z.string(),
  /** 'split': root/train/<class> and root/val/<class>; 'flat': root/<class> with a seeded validation split. */
  layout: z.enum(['flat', 'split']),
  /** How validation was split off for the 'flat' layout; null for 'split'. */
  split: z.object({ valFraction: z.number(), seed: z.number().int() }).nullable(),
  /** In class-index order (sorted names, as torchvision's ImageFolder). */
  classes: z.array(z.object({ name: z.string(), train: z.number().int(), val: z.number().int(), total: z.number().int() })),
  totalImages: z.number().int(),
  trainCount: z.number().int(),
  valCount: z.number().int(),
  /** Image sizes as displayed (after EXIF orientation); null when no image could be read. */
  imageSize: z.object({ width: SizeStats, height: SizeStats }).nullable(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  /** Hidden files and files that are not images. */
  ignored: z.number().int(),
  /** Worth knowing, does not stop training. */
  notes: z.array(z.string()),
  /** Stops training (empty dataset, < 2 classes, empty class), each naming the folder. Empty when usable. */
  problems: z.array(z.string()),
});
export type ScanSummary = z.infer<typeof ScanSummary>;

export const Thumbnail = z.object({
  class: z.string(),
  /** Path relative to the dataset root. */
  file: z.string(),
  dataUrl: DisplayDataUrl,
  width: z.number().int(),
  height: z.number().int(),
});
export type Thumbnail = z.infer<typeof Thumbnail>;

// ---------------------------------------------------------------------------------------------
// Training

/** A recipe value the studio may choose from the dataset scan (src/train/recipe.ts); an explicit value wins. */
const auto = <T extends z.ZodTypeAny>(t: T) => z.union([z.literal('auto'), t]);

export const Augmentation = z
  .object({
    cropScale: auto(z.tuple([prob, prob]))
      .default('auto')
      .describe('random-resized crop area range "lo,hi" (reference 0.08,1; 1,1 = whole image), or auto: images within 1.25x the training size get none (0.5,1 from 20 epochs), larger ones 0.25,1 (0.08,1 from 10 epochs)'),
    hflip: z.boolean().default(true).describe('random horizontal flip'),
    colorJitter: z.number().min(0).max(1).default(0).describe('colour jitter strength (brightness, contrast, saturation); 0 = off, as the reference'),
    randAugment: z.boolean().default(false).describe('RandAugment (not implemented yet)'),
  })
  .strict();

export const TrainSettings = z
  .object({
    data: FsPath.describe('dataset folder'),
    variant: VariantName.default('mobilevit_xxs').describe('model architecture'),
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
export const ViewState = z.object({ train: TrainViewState.nullable() });
export type ViewState = z.infer<typeof ViewState>;
export const ViewStatePatch = z.object({ train: TrainViewState.optional() }).strict();

const Metrics = z.object({ loss: finite, top1: prob, top5: prob.nullable().optional() });

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
    best: z.object({ epoch: z.number().int(), top1: prob, loss: finite }).nullable().optional(), weights: z.string().optional(),
  }),
  ev('stopped', { epoch: z.number().int(), step: z.number().int(), reason: z.enum(['stop', 'pause']) }),
  ev('failed', { error: z.string(), epoch: z.number().int().optional(), step: z.number().int().optional() }),
]);
export type TrainEvent = z.infer<typeof TrainEvent>;

/** The ways out of the studio (the CLI's `export --format`). */
export const ExportFormat = z.enum(['onnx', 'safetensors', 'timm-recipe']);
export type ExportFormat = z.infer<typeof ExportFormat>;
/** What an export wrote (into the run's exports/ folder). */
export const ExportResult = z.object({
  runId: RunId,
  format: ExportFormat,
  files: z.array(z.object({ path: z.string(), bytes: z.number().int().nonnegative() })),
  /** timm-recipe: the command line to run it. */
  command: z.string().optional(),
  notes: z.array(z.string()),
});
export type ExportResult = z.infer<typeof ExportResult>;

export const RunStatus = z.enum(['running', 'paused', 'stopped', 'finished', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

/** What a run does before its first step, with the words the CLI and the window show for it. */
export const PREPARE_LABELS = {
  scan: 'checking images',
  cache: 'decoding training images',
  'eval-set': 'preparing validation images',
  features: 'computing backbone features (head-only)',
  devices: 'measuring the compute devices',
} as const;
export type PrepareTask = keyof typeof PREPARE_LABELS;

/** The events that end a training session: one of them is the only signal that a run is over. */
export type TerminalEvent = Extract<TrainEvent, { type: 'finished' | 'stopped' | 'failed' }>;
export function isTerminalEvent(e: TrainEvent): e is TerminalEvent {
  return e.type === 'finished' || e.type === 'stopped' || e.type === 'failed';
}
/** The status a terminal event leaves the run in. */
export function statusAfter(e: TerminalEvent): Exclude<RunStatus, 'running'> {
  return e.type === 'stopped' ? (e.reason === 'pause' ? 'paused' : 'stopped') : e.type;
}

export const RunSummary = z.object({
  id: RunId,
  name: z.string(),
  status: RunStatus,
  createdAt: z.string(), // ISO 8601
  updatedAt: z.string(),
  settings: TrainSettings,
  classes: z.array(z.string()),
  epochsDone: z.number().int(),
  best: z.object({ epoch: z.number().int(), top1: prob, loss: finite }).nullable(),
  last: z.object({ epoch: z.number().int(), trainLoss: finite, valLoss: finite.nullable(), valTop1: prob.nullable() }).nullable(),
  /** Why the run failed (engine crash, NaN loss, …). */
  error: z.string().nullable(),
  /** A checkpoint exists, so train.resume can continue it. */
  resumable: z.boolean(),
  /** The recipe's 'auto' settings as resolved when the run started, and why (absent before it starts). */
  recipe: z.object({ settings: TrainSettings, explanation: z.string() }).optional(),
  /** A person's labels and notes on the run (runs.annotate). */
  tags: z.array(z.string()),
  notes: z.string(),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** A label on a run: one short word or phrase; the Runs view filters by it. */
export const RunTag = z
  .string()
  .trim()
  .min(1, 'a tag is empty')
  .max(40, 'a tag is longer than 40 characters')
  .regex(/^[^,\n\r\t]+$/, 'a tag holds no commas, tabs or line breaks');
export const RunNotes = z.string().max(10_000, 'notes are longer than 10,000 characters');

export const RunDetail = z.object({
  run: RunSummary,
  /** The whole metrics.jsonl, in order, for replaying curves. */
  events: z.array(TrainEvent),
  /** Lines of metrics.jsonl that could not be read (torn last line after a kill, unknown type). */
  skippedEvents: z.number().int(),
  dataset: ScanSummary.nullable(),
  backend: z.string().nullable(),
});
export type RunDetail = z.infer<typeof RunDetail>;

// ---------------------------------------------------------------------------------------------
// Evaluation and inspection

export const EvalResult = z.object({
  runId: RunId,
  checkpoint: z.enum(['best', 'last']),
  classes: z.array(z.string()),
  /** confusion[true][predicted] = count. */
  confusion: z.array(z.array(z.number().int())),
  perClass: z.array(z.object({ class: z.string(), accuracy: prob.nullable(), count: z.number().int() })),
  loss: finite,
  top1: prob,
  top5: prob.nullable(),
  /** Most confident mistakes first; file is the image's full path. */
  misclassified: z.array(z.object({
    file: z.string(), trueClass: z.string(), predictedClass: z.string(), confidence: prob, thumbnail: DisplayDataUrl,
  })),
  /** Misclassified files beyond those returned with thumbnails. */
  misclassifiedTotal: z.number().int(),
});
export type EvalResult = z.infer<typeof EvalResult>;

/**
 * The input size the model's source records (a run's training size, a zoo model's evaluation size); null when it
 * records none. The window warns when an inspection's imageSize differs from it.
 */
const recordedImageSize = z.number().int().nullable();

export const PredictResult = z.object({
  top5: z.array(Prediction),
  imageSize: z.number().int(),
  recordedImageSize,
  ms: finite,
});
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
  top5: z.array(Prediction),
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

export const PartName = z.enum(PART_NAMES);
export const ProfileResult = z.object({
  variant: VariantName,
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
    // inspect (issue 5): the transformer part also carries each layer's ms.
    parts: z.array(z.object({ name: PartName, ms: finite, layers: z.array(finite).optional() })),
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

// ---------------------------------------------------------------------------------------------
// The model zoo (src/zoo): ImageNet checkpoints on the Hugging Face Hub, cached in <workspace>/models

export const ZooModel = z.object({
  name: z.string(),
  repo: z.string(),
  revision: z.string(),
  variant: VariantName,
  source: z.string(),
  /** Bytes on disk when cached, else the approximate download size. */
  size: z.number().int().nonnegative(),
  sizeApprox: z.boolean(),
  cached: z.boolean(),
  channels: z.enum(['RGB', 'BGR']),
  top1: z.number().nullable(),
});
export type ZooModel = z.infer<typeof ZooModel>;

/** A zoo short name (mobilevit_xxs) or repo id (timm/mobilevit_xxs.cvnets_in1k). */
const ZooName = z.string().trim().min(1).max(200);

export const ZooPullResult = z.object({
  name: z.string(), repo: z.string(), revision: z.string(),
  /** The hub's file, whose sha256 and size these are. */
  path: z.string(), sha256: z.string(), size: z.number().int(),
  /** The file to train or inspect with (TrainSettings.weights, ModelRef.weights). */
  weights: z.string(),
  variant: VariantName,
  downloaded: z.boolean(),
  notes: z.array(z.string()),
});
export type ZooPullResult = z.infer<typeof ZooPullResult>;

// ---------------------------------------------------------------------------------------------
// The request table

const empty = z.object({}).strict().default({});

export const requests = {
  'app.info': { params: empty, result: AppInfo },
  'settings.get': { params: empty, result: Settings },
  'settings.set': { params: SettingsPatch, result: Settings },
  /** Electron only; in browser mode these fail with code 'unsupported' and the UI shows a path field. */
  /** What the window's views were showing, kept in the workspace so a reload or a second window shows the same. */
  'views.get': { params: empty, result: ViewState },
  'views.set': { params: ViewStatePatch, result: ViewState },
  'dialog.openFolder': { params: z.object({ title: z.string().max(200).optional() }).strict().default({}), result: DialogResult },
  'dialog.openFile': {
    params: z.object({ title: z.string().max(200).optional(), filters: z.array(FileFilter).max(10).optional() }).strict().default({}),
    result: DialogResult,
  },
  'dataset.scan': {
    params: z.object({ path: FsPath, valFraction: ValFraction.optional(), seed: int(0, 2 ** 31 - 1).optional() }).strict(),
    result: ScanSummary,
  },
  /** Folders of the workspace to open as a dataset (datasets/ and the others it does not keep itself), for the browser mode. */
  'dataset.folders': {
    params: empty,
    result: z.object({ workspace: z.string(), folders: z.array(z.object({ name: z.string(), path: z.string() })) }),
  },
  'dataset.thumbnails': {
    params: z.object({
      path: FsPath,
      class: z.string().min(1).optional(),
      limit: int(1, 200).default(24),
      offset: int(0, 10_000_000).default(0),
      size: int(16, 256).default(96),
    }).strict(),
    result: z.object({ items: z.array(Thumbnail), total: z.number().int() }),
  },
  'train.start': {
    params: z.object({ settings: TrainSettings, name: z.string().min(1).max(200).optional() }).strict(),
    result: z.object({ runId: RunId }),
  },
  'train.stop': { params: z.object({ runId: RunId }).strict(), result: RunSummary },
  'train.pause': { params: z.object({ runId: RunId }).strict(), result: RunSummary },
  'train.resume': { params: z.object({ runId: RunId }).strict(), result: RunSummary },
  'runs.list': { params: empty, result: z.object({ runs: z.array(RunSummary) }) },
  'runs.get': { params: z.object({ runId: RunId }).strict(), result: RunDetail },
  'runs.rename': { params: z.object({ runId: RunId, name: z.string().trim().min(1).max(200) }).strict(), result: RunSummary },
  /** Sets a run's tags and/or notes (kept in its run.json); refused while the run trains, like a rename. */
  'runs.annotate': {
    params: z.object({ runId: RunId, tags: z.array(RunTag).max(20, 'more than 20 tags').optional(), notes: RunNotes.optional() }).strict(),
    result: RunSummary,
  },
  'runs.delete': { params: z.object({ runId: RunId }).strict(), result: z.object({ runId: RunId }) },
  'runs.export': {
    params: z.object({
      runId: RunId,
      format: ExportFormat,
      checkpoint: z.enum(['best', 'last']).default('best'),
      /** ONNX input size; default the run's training size. */
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).optional(),
      opset: int(13, 21).default(17),
    }).strict(),
    result: ExportResult,
  },
  'eval.run': {
    params: z.object({
      runId: RunId,
      checkpoint: z.enum(['best', 'last']).default('best'),
      /** How many misclassified images to return with thumbnails. */
      maxMisclassified: int(0, 500).default(48),
    }).strict(),
    result: EvalResult,
  },
  'inspect.predict': {
    params: z.object({ model: ModelRef, image: ImageInput, imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).optional() }).strict(),
    result: PredictResult,
  },
  'inspect.attention': {
    params: z.object({
      model: ModelRef,
      image: ImageInput,
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).optional(),
      block: int(0, 16).default(0), // MobileViT block, from 0
      layer: z.union([int(0, 64), z.literal('rollout')]).default('rollout'),
      head: z.union([int(0, 64), z.literal('mean')]).default('mean'),
      patch: Cell, // [row, col] in the patch grid
      pixel: z.union([Cell, z.literal('mean')]).default('mean'), // position inside the patch
    }).strict(),
    result: AttentionResult,
  },
  'inspect.receptiveField': {
    params: z.object({
      model: ModelRef,
      /** Omitted: a seeded random image of imageSize. */
      image: ImageInput.optional(),
      imageSize: int(MIN_INPUT_SIZE, 512).default(128),
      /** Network block index; omitted: every block. */
      block: int(0, 256).optional(),
      /** Output location in the block's feature map; omitted: the centre. */
      location: Cell.optional(),
      seed: int(0, 2 ** 31 - 1).default(0),
    }).strict(),
    result: ReceptiveFieldResult,
  },
  'inspect.profile': {
    params: z.object({
      variant: VariantName,
      imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).default(256),
      batch: int(1, 256).default(1),
      runs: int(1, 1000).default(10),
      /** tfjs (default): the studio's engine; onnxruntime: the studio's ONNX export on onnxruntime-node, per node mapped to blocks. */
      runtime: z.enum(['tfjs', 'onnxruntime']).optional(),
      /**
       * Where TF.js times it: 'engine' (default) the engine's compute device (which 'auto' picks for training, maybe
       * a Chromium page), 'in-process' the engine's own backend (tensorflow or wasm) whatever the device.
       */
      device: z.enum(['engine', 'in-process']).optional(),
    }).strict(),
    result: ProfileResult,
  },
  'models.list': { params: empty, result: z.object({ models: z.array(ZooModel), dir: z.string() }) },
  /** Downloads (progress events: bytes; label: rate and time left) unless cached; the answer names the file to use. */
  'models.pull': { params: z.object({ name: ZooName }).strict(), result: ZooPullResult },
  'models.cancel': { params: z.object({ name: ZooName }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /**
   * Puts a local .safetensors `file` into the cache as zoo model `name` (without it: recognised by the file's key
   * names and size), checked as a download is (no network).
   */
  'models.import': { params: z.object({ file: FsPath, name: ZooName.optional() }).strict(), result: ZooPullResult },
  /** The latest measurement of this machine's compute devices (null: never measured); reads a file, starts nothing. */
  'devices.speeds': { params: empty, result: z.object({ table: DeviceSpeeds.nullable() }) },
  /** Measures every device on `variant` at `imageSize` (progress events; devices.cancel stops it). */
  'devices.measure': {
    params: z.object({ variant: VariantName.default('mobilevit_xxs'), imageSize: int(MIN_INPUT_SIZE, MAX_INPUT_SIZE).default(256) }).strict().default({}),
    result: DeviceSpeeds,
  },
  'devices.cancel': { params: empty, result: z.object({ cancelled: z.boolean() }) },
} as const satisfies Record<RequestName, { params: z.ZodTypeAny; result: z.ZodTypeAny }>;

// Compile-time check that the table has no request missing from names.ts (satisfies checks the other way).
type _NoExtraRequests = Exclude<keyof typeof requests, RequestName> extends never ? true : never;
const _noExtraRequests: _NoExtraRequests = true;
void _noExtraRequests;

/** Params as a caller writes them (defaults may be omitted). */
export type Params<K extends RequestName> = z.input<(typeof requests)[K]['params']>;
/** Params after validation (defaults filled in): what the service receives. */
export type ParsedParams<K extends RequestName> = z.output<(typeof requests)[K]['params']>;
export type Result<K extends RequestName> = z.output<(typeof requests)[K]['result']>;

// ---------------------------------------------------------------------------------------------
// The event table

export const events = {
  'train.event': z.object({ runId: RunId, event: TrainEvent }),
  /** A run changed state; after a terminal train.event it carries the settled record (resumable or not). */
  'run.status': z.object({ runId: RunId, status: RunStatus, error: z.string().nullable(), resumable: z.boolean() }),
  'engine.status': z.object({ state: EngineState, reason: z.string().optional(), pid: z.number().int().optional() }),
  /** Long work: task names the request ('dataset.scan', 'eval.run', …); total 0 means unknown. */
  progress: z.object({ task: z.string(), id: z.string(), done: z.number(), total: z.number(), label: z.string().optional() }),
} as const satisfies Record<EventName, z.ZodTypeAny>;

type _NoExtraEvents = Exclude<keyof typeof events, EventName> extends never ? true : never;
const _noExtraEvents: _NoExtraEvents = true;
void _noExtraEvents;

export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

// ---------------------------------------------------------------------------------------------
// Errors and the client

export const ErrorCode = z.enum([
  'invalid_request', // malformed frame, unknown method, or params that fail the schema
  'not_found', // run, file or folder does not exist
  'conflict', // e.g. a run is already training, or the run is not in a state that allows this
  'unsupported', // e.g. dialogs in browser mode
  'engine_crashed', // the compute process died while handling this request
  'disconnected', // the transport to the studio closed before the reply came
  'failed', // the operation ran and failed (bad image, bad weights, …): the message says why
  'internal', // a bug
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorInfo = z.object({ code: ErrorCode, message: z.string(), details: z.unknown().optional() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** The error every request rejects with; message is one line a person can act on. */
export class StudioError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
    this.details = details;
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}) };
  }
}

/**
 * Any thrown value as an error reply: a StudioError keeps its code; anything else is an operation that
 * failed, reported by its first line (stack traces stay in the logs).
 */
export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof StudioError) return e.toInfo();
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0] || 'unknown error';
  return { code: 'failed', message };
}

/** Turns a zod failure into one readable line: "settings.epochs: Number must be greater than or equal to 1". */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Validates the params of a request; throws StudioError('invalid_request') naming the bad field. */
export function parseParams<K extends RequestName>(name: K, params: unknown): ParsedParams<K> {
  const r = requests[name].params.safeParse(params === undefined ? {} : params);
  if (!r.success) throw new StudioError('invalid_request', `${name}: ${describeZodError(r.error)}`, r.error.issues);
  return r.data as ParsedParams<K>;
}

/** What the renderer talks to, whichever transport carries it. */
export interface StudioClient {
  request<K extends RequestName>(name: K, params: Params<K>): Promise<Result<K>>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void;
}

/** What Electron's preload puts on window.studio: untyped at the boundary, typed by client.ts. */
export interface StudioBridge {
  request(name: string, params: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: ErrorInfo }>;
  on(listener: (event: string, payload: unknown) => void): () => void;
}
