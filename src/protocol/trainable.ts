// Which settings the studio can train, checked from the settings alone, so that a run that could never train is
// refused before its folder exists (issue 24 item 4): the contract's schema (its own texts, e.g. "imageSize: Number
// must be greater than or equal to 32"), combinations the reference recipe does not have, and the sizes the
// sampler would train at. The service and `train` run it before making a run folder, with a scan of the dataset
// (data/scan.ts assertTrainable: at least two class folders with readable images); the training loop runs it when
// a run starts or resumes. Pure: no files, no tensor backend.
import { MIN_INPUT_SIZE } from '../model/types.ts';
import { TrainSettings, describeZodError, type TrainSettingsInput } from './contract.ts';
import { multiScaleSizes } from './multi-scale.ts';

/** Settings a run cannot start with: the message names the field. */
export class SettingsError extends Error {}

/** The checks beyond the schema: combinations the recipe does not have, and the smallest size trained at. */
export function checkSettings(s: TrainSettings): void {
  // timm turns colour jitter off when RandAugment is on (transforms_factory: disable_color_jitter), so the two
  // together would train on images timm's recipe never makes.
  if (s.augmentation.randAugment && s.augmentation.colorJitter > 0) {
    throw new SettingsError('training settings: augmentation.colorJitter must be 0 with augmentation.randAugment (timm\'s recipe uses one or the other)');
  }
  const smallest = s.multiScale ? multiScaleSizes(s.imageSize)[0] : s.imageSize;
  if (smallest < MIN_INPUT_SIZE) {
    throw new SettingsError(`training settings: ${s.multiScale ? `the multi-scale sampler around ${s.imageSize} px would train at ${smallest} px` : `imageSize ${smallest}`}, below the model's ${MIN_INPUT_SIZE} px minimum`);
  }
}

/** The settings parsed by the contract's schema and checked (checkSettings); a SettingsError otherwise. */
export function parseTrainable(input: TrainSettingsInput): TrainSettings {
  const parsed = TrainSettings.safeParse(input);
  if (!parsed.success) throw new SettingsError(`training settings: ${describeZodError(parsed.error)}`);
  checkSettings(parsed.data);
  return parsed.data;
}
