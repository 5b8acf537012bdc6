// The recipe's defaults that depend on the data. Four settings may be 'auto' in TrainSettings: the
// random-resized crop's area range, the evaluation crop, the warm-up and the cosine floor. They are
// resolved once, when a run first starts (after the dataset scan), from what the scan knows; the result
// and a one-line explanation are recorded in run.json, and a resumed run uses that record, so it trains
// exactly as it began. An explicit value always wins over 'auto'.
//
// Why these rules (measured; bench/recipe.ts measures it):
//   framing      The reference recipe (random-resized crops of 8–100% of the area, evaluation on the
//                centre 90% after resizing to size/0.9) is made for photos larger than the training size,
//                where the object fills only part of the frame. Images already framed at about the training
//                size (28-px digits or clothes trained at 32 px) lose the object's edges to both: on such
//                data the whole image at evaluation and flips without crops train better (PyTorch: 0.80–0.82
//                top-1 against 0.71–0.74 for the reference recipe, 5 epochs of XXS at 32 px).
//   run length   A short run cannot absorb strong augmentation: photos trained for fewer than 10 epochs crop
//                at least 25% of the area; from 10 epochs on, the reference 8%. Framed images trained for
//                20 epochs or more get mild crops (50–100%) as a regulariser.
//   warm-up      About 50 steps (what keeps AdamW's first steps small), never under the reference 1 epoch,
//                and at most a fifth of the run, so a short run still spends most of its steps decaying.
//   floor        Runs under 10 epochs anneal to 1% of the peak lr (there is no later epoch that would use
//                a higher floor); longer runs keep the paper's 10%.
// Pure and part of the contract (what 'auto' means): the window shows the same explanation the run will record,
// and the training loop resolves with it.
import type { TrainSettings } from './contract.ts';
import type { Interpolation } from '../util/interpolation.ts';

/** What the dataset scan tells the recipe. */
export interface DatasetStats {
  /** Median shorter side of the images as displayed, px. */
  shortSide: number;
  trainImages: number;
  classes: number;
}

/** TrainSettings with every 'auto' replaced by a value. */
export type ResolvedSettings = TrainSettings & {
  augmentation: TrainSettings['augmentation'] & { cropScale: [number, number] };
  evalCrop: number;
  warmupEpochs: number;
  minLrRatio: number;
};

export interface ResolvedRecipe {
  settings: ResolvedSettings;
  /** One line: what was chosen and why, and which settings override it. */
  explanation: string;
  /** The stats it was resolved from (null: none known, the reference recipe). */
  stats: DatasetStats | null;
}

/** The reference recipe (ml-cvnets / timm for MobileViT): what 'auto' means when nothing is known. */
export const REFERENCE_RECIPE = { cropScale: [0.08, 1] as [number, number], evalCrop: 0.9, warmupEpochs: 1, minLrRatio: 0.1 };

/**
 * How an image becomes a model's input: the shorter side resized to floor(imageSize / cropPct) with
 * `interpolation`, then the centred imageSize × imageSize crop.
 */
export interface Preprocessing {
  imageSize: number;
  cropPct: number;
  interpolation: Interpolation;
}

/** The reference (timm's MobileViT config): what applies where nothing is recorded or given. */
export const REFERENCE_PREPROCESSING: Preprocessing = { imageSize: 256, cropPct: REFERENCE_RECIPE.evalCrop, interpolation: 'bicubic' };

/** What a model's source records of its preprocessing (a run's recipe, a zoo row); null: not recorded. */
export interface RecordedPreprocessing {
  imageSize: number | null;
  evalCrop: number | null;
  interpolation: Interpolation | null;
}

/**
 * The one place every inference path (predict, eval, attention, receptive field, the engine's inspection, the
 * ONNX export's metadata) takes its preprocessing from: what is given explicitly (flags, a request's fields),
 * else what the model's source records (a run's recipe, a zoo row), else the reference.
 */
export function inferencePreprocessing(recorded: RecordedPreprocessing | null, explicit: Partial<Preprocessing> = {}): Preprocessing {
  return {
    imageSize: explicit.imageSize ?? recorded?.imageSize ?? REFERENCE_PREPROCESSING.imageSize,
    cropPct: explicit.cropPct ?? recorded?.evalCrop ?? REFERENCE_PREPROCESSING.cropPct,
    interpolation: explicit.interpolation ?? recorded?.interpolation ?? REFERENCE_PREPROCESSING.interpolation,
  };
}

/**
 * The peak learning rate the window proposes for a quick (head-only) run: only a fresh linear classifier
 * trains, on fixed features, and it converges within a few epochs at 0.01 where the from-scratch 0.002
 * is slow (the quick runs measured in bench/results/zoo.json use it).
 */
export const HEAD_ONLY_LR = 0.01;

/** Images whose shorter side is below this multiple of the training size count as framed at that size. */
export const FRAMED_RATIO = 1.25;
/** Warm-up aims at this many optimizer steps. */
export const WARMUP_STEPS = 50;

/** The recipe's stats from a scan (a DatasetScan or the ScanSummary the window receives). */
export function datasetStats(scan: {
  imageSize: { width: { median: number }; height: { median: number } } | null;
  classes: readonly unknown[];
} & ({ trainCount: number } | { train: readonly unknown[] })): DatasetStats | null {
  if (!scan.imageSize || scan.classes.length === 0) return null;
  const trainImages = 'trainCount' in scan ? scan.trainCount : scan.train.length;
  return { shortSide: Math.min(scan.imageSize.width.median, scan.imageSize.height.median), trainImages, classes: scan.classes.length };
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const fmtRange = (r: [number, number]) => `${Math.round(r[0] * 100)}–${Math.round(r[1] * 100)}%`;

/** A quick run whose classifier is solved to its optimum (one solve: the run has one epoch of one step). */
export function solvesHead(s: Pick<TrainSettings, 'headOnly' | 'headSolver'>): boolean {
  return s.headOnly && s.headSolver === 'optimum';
}

/** Resolves every 'auto' of `settings` from `stats` (null: the reference recipe). Explicit values are kept as given. */
export function resolveRecipe(settings: TrainSettings, stats: DatasetStats | null): ResolvedRecipe {
  const a = settings.augmentation;
  const solving = solvesHead(settings);
  const why: string[] = [];
  const chosen: string[] = [];
  let cropScale: [number, number];
  let evalCrop: number;
  let warmupEpochs: number;
  let minLrRatio: number;

  if (stats === null) {
    ({ cropScale, evalCrop, warmupEpochs, minLrRatio } = REFERENCE_RECIPE);
    why.push('no dataset statistics: the reference recipe');
  } else {
    const ratio = stats.shortSide / settings.imageSize;
    const framed = ratio < FRAMED_RATIO;
    const perClass = Math.round(stats.trainImages / Math.max(1, stats.classes));
    const stepsPerEpoch = Math.max(1, Math.ceil(stats.trainImages / settings.batchSize));
    why.push(`images ${Math.round(stats.shortSide)} px for training at ${settings.imageSize} px (${framed ? 'framed at about the training size' : 'larger, photo-like'}), ${perClass} per class${solving ? '' : `, ${settings.epochs} epochs of ~${stepsPerEpoch} steps`}`);
    if (framed) {
      cropScale = settings.epochs >= 20 ? [0.5, 1] : [1, 1];
      evalCrop = 1;
    } else {
      cropScale = settings.epochs >= 10 ? [...REFERENCE_RECIPE.cropScale] : [0.25, 1];
      evalCrop = REFERENCE_RECIPE.evalCrop;
    }
    warmupEpochs = round2(Math.min(Math.max(1, WARMUP_STEPS / stepsPerEpoch), 0.2 * settings.epochs));
    minLrRatio = settings.epochs < 10 ? 0.01 : REFERENCE_RECIPE.minLrRatio;
  }

  if (settings.headOnly) {
    // A quick run's rows are computed once: random crops drawn once per view are not augmentation, only partial
    // views from another distribution than the evaluated one (train/head-only.ts). A linear probe's views instead.
    cropScale = [1, 1];
    why.push('quick fine-tune: each training image as evaluation sees it (and its mirror with flips)');
  }
  if (solving) why.push('the classifier solved to its optimum in one pass (headSolver optimum: no lr, epochs or schedule)');

  // Explicit values win; only what 'auto' chose is reported as chosen.
  if (a.cropScale !== 'auto') cropScale = a.cropScale;
  else chosen.push(cropScale[0] >= 1 ? 'no random crops (whole image)' : `random crops of ${fmtRange(cropScale)} of the area`);
  if (settings.evalCrop !== 'auto') evalCrop = settings.evalCrop;
  else chosen.push(evalCrop >= 1 ? 'evaluation on the whole image' : `evaluation on the centre ${Math.round(evalCrop * 100)}%`);
  // A solved classifier has no schedule: the values are resolved all the same (the record stays complete), unsaid.
  if (settings.warmupEpochs !== 'auto') warmupEpochs = settings.warmupEpochs;
  else if (!solving) chosen.push(`warm-up ${warmupEpochs} epoch${warmupEpochs === 1 ? '' : 's'}`);
  if (settings.minLrRatio !== 'auto') minLrRatio = settings.minLrRatio;
  else if (!solving) chosen.push(`cosine floor ${minLrRatio}× lr`);

  const resolved: ResolvedSettings = {
    ...settings,
    ...(solving ? { epochs: 1 } : {}),
    augmentation: { ...a, cropScale },
    evalCrop,
    warmupEpochs,
    minLrRatio,
  };
  const explanation = chosen.length === 0
    ? 'recipe: every setting is explicit'
    : `recipe: ${why.join('; ')} → ${chosen.join(', ')} (set crop-scale, eval-crop, warmup-epochs or min-lr-ratio to override)`;
  return { settings: resolved, explanation, stats };
}

/** Throws when a recipe value is still 'auto' (the run was not resolved). */
export function concrete<T>(value: T | 'auto', field: string): T {
  if (value === 'auto') throw new Error(`training settings: ${field} is still 'auto' (the recipe was not resolved against the dataset)`);
  return value;
}
