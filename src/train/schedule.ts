// The learning-rate schedule: linear warm-up, then cosine decay to a floor, evaluated per step.
// Time is measured in fractional epochs (epoch + batchIndex / batchesInEpoch) rather than in global
// steps, because with the multi-scale sampler the number of batches differs from epoch to epoch and
// the total step count is not known in advance; an epoch's batch count is known when it starts.

export interface ScheduleSettings {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Floor of the cosine decay (ml-cvnets' `min_lr`). */
  minLr: number;
  /** Length of the linear warm-up, in epochs (may be fractional). */
  warmupEpochs: number;
  /** Learning rate at the very first step of warm-up. */
  warmupStartLr: number;
  epochs: number;
}

/** Fractional epoch reached at the start of batch `batchIndex` of `epoch` (both 0-based). */
export function progressAt(epoch: number, batchIndex: number, batchesInEpoch: number): number {
  return epoch + batchIndex / Math.max(1, batchesInEpoch);
}

export function learningRate(s: ScheduleSettings, progress: number): number {
  const warm = Math.min(s.warmupEpochs, s.epochs);
  if (progress < warm) return s.warmupStartLr + (s.lr - s.warmupStartLr) * (progress / warm);
  const span = s.epochs - warm;
  const t = span > 0 ? Math.min(1, (progress - warm) / span) : 1;
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * t));
}

export function validateSchedule(s: ScheduleSettings): void {
  const bad = (field: string, why: string) => { throw new Error(`training settings: ${field} ${why}`); };
  if (!(s.lr > 0)) bad('lr', `must be > 0, got ${s.lr}`);
  if (!(s.minLr >= 0) || s.minLr > s.lr) bad('minLr', `must be in [0, lr], got ${s.minLr}`);
  if (!(s.warmupEpochs >= 0)) bad('warmupEpochs', `must be >= 0, got ${s.warmupEpochs}`);
  if (!(s.warmupStartLr >= 0) || s.warmupStartLr > s.lr) bad('warmupStartLr', `must be in [0, lr], got ${s.warmupStartLr}`);
  if (!Number.isInteger(s.epochs) || s.epochs < 1) bad('epochs', `must be a positive integer, got ${s.epochs}`);
}
