// The seeded, stratified validation split used when a dataset has no val/ folder.
import { Rng, hashString, mixSeed } from '../util/random.ts';

/**
 * How many of a class's `n` images go to validation. Rounds to nearest, but a class with two or more images
 * always keeps at least one for validation (so per-class accuracy exists) and at least one for training.
 */
export function valCount(n: number, fraction: number): number {
  if (fraction <= 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
}

/**
 * Splits one class's items into train and val. Each class draws from its own stream (seed mixed with the class
 * name), so adding or removing another class does not change this class's split. Items keep their input order
 * within each side, which the caller makes deterministic by sorting.
 */
export function splitClass<T>(items: readonly T[], className: string, fraction: number, seed: number): { train: T[]; val: T[] } {
  const k = valCount(items.length, fraction);
  const order = new Rng(mixSeed(seed, hashString(className))).shuffle(items.map((_, i) => i));
  const isVal = new Uint8Array(items.length);
  for (let i = 0; i < k; i++) isVal[order[i]] = 1;
  const train: T[] = [];
  const val: T[] = [];
  items.forEach((item, i) => (isVal[i] ? val : train).push(item));
  return { train, val };
}
