// The preprocessing flags of the commands that run a model on an image file (predict, attention,
// receptive-field): each one given overrides what the model's source records (a run's recipe, a zoo row), which
// src/protocol/recipe.ts inferencePreprocessing applies otherwise.
import type { Preprocessing } from '../protocol/recipe.ts';
import { INTERPOLATIONS, type Interpolation } from '../util/interpolation.ts';
import { positiveInt, UsageError, type FlagSpec, type ParsedFlags } from './args.ts';
import { inputSize } from './common.ts';

export const INFERENCE_FLAGS: Record<string, FlagSpec> = {
  'image-size': { type: 'number', description: "input size, px (default: the run's training size, the zoo model's evaluation size, else 256)" },
  'eval-crop': { type: 'number', description: "centre fraction kept after resizing the shorter side to size / crop, 1 = the whole image (default: the run's recorded recipe, the zoo model's, else 0.9)" },
  interpolation: { type: 'string', value: INTERPOLATIONS.join('|'), description: "resize kernel (default: the zoo model's, else bicubic)" },
};

/** The preprocessing the flags give explicitly, checked. */
export function explicitPreprocessing(flags: ParsedFlags): Partial<Preprocessing> {
  const out: Partial<Preprocessing> = {};
  const size = positiveInt(flags, 'image-size');
  if (size !== undefined) out.imageSize = inputSize(size, 'image-size');
  const crop = flags['eval-crop'];
  if (crop !== undefined) {
    if (typeof crop !== 'number' || !(crop > 0 && crop <= 1)) throw new UsageError(`--eval-crop must be in (0, 1], got ${crop}`);
    out.cropPct = crop;
  }
  const kernel = flags.interpolation;
  if (kernel !== undefined) {
    if (!(INTERPOLATIONS as readonly unknown[]).includes(kernel)) throw new UsageError(`--interpolation must be ${INTERPOLATIONS.join(' or ')}, got "${kernel}"`);
    out.interpolation = kernel as Interpolation;
  }
  return out;
}

/** "whole image, bicubic" or "centre 90 %, bicubic". */
export function describePreprocessing(p: Preprocessing): string {
  return `${p.cropPct >= 1 ? 'whole image' : `centre ${Math.round(p.cropPct * 1000) / 10} %`}, ${p.interpolation}`;
}
