// What can be checked of a run before its folder exists, so that settings which could never train are refused in
// one clear line instead of leaving a failed run behind (issue 24 item 4): the contract's schema (its own texts:
// "imageSize: Number must be greater than or equal to 32"), what the studio does not implement, the sizes the
// sampler would train at, and the dataset (a header scan: at least two class folders with readable images).
// The training loop applies the same checks (checkSettings) when a run starts or resumes.
// No tensor backend here: the service runs it before handing a run to the engine.
import { assertTrainable, scanDataset, type DatasetScan } from '../data/scan.ts';
import { samplerSizes } from '../data/sampler.ts';
import { MIN_INPUT_SIZE } from '../model/types.ts';
import { TrainSettings, describeZodError, type TrainSettingsInput } from '../protocol/contract.ts';

/** Settings a run cannot start with: the message names the field. */
export class SettingsError extends Error {}

/** The checks on the settings alone (no files): what is not implemented, and the smallest size trained at. */
export function checkSettings(s: TrainSettings): void {
  if (s.augmentation.randAugment) throw new SettingsError('training settings: augmentation.randAugment is not implemented; turn it off');
  const smallest = samplerSizes({ baseSize: s.imageSize, batchSize: s.batchSize, multiScale: s.multiScale, seed: s.seed })[0];
  if (smallest < MIN_INPUT_SIZE) {
    throw new SettingsError(`training settings: ${s.multiScale ? `the multi-scale sampler around ${s.imageSize} px would train at ${smallest} px` : `imageSize ${smallest}`}, below the model's ${MIN_INPUT_SIZE} px minimum`);
  }
}

export interface PreflightOptions {
  /** A scan of the dataset folder already made (the service's cache); default: a header scan now. */
  scan?: (path: string) => Promise<DatasetScan>;
  signal?: AbortSignal;
}

/**
 * The settings parsed and checked, and the dataset scanned, before a run folder is made for them. Throws a
 * SettingsError (the settings) or a DatasetError (the folder) whose message says what to change.
 */
export async function checkStartable(input: TrainSettingsInput, opts: PreflightOptions = {}): Promise<TrainSettings> {
  const parsed = TrainSettings.safeParse(input);
  if (!parsed.success) throw new SettingsError(`training settings: ${describeZodError(parsed.error)}`);
  const s = parsed.data;
  checkSettings(s);
  const scan = opts.scan ? await opts.scan(s.data) : await scanDataset(s.data, { valFraction: s.valFraction, seed: s.seed, verify: 'header', signal: opts.signal });
  assertTrainable(scan);
  return s;
}

