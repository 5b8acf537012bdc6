// Reference fixtures from timm (test/fixtures/, copied from shared/fixtures/mobilevit) and comparisons.
import { fileURLToPath } from 'node:url';
import { readSafetensors, type NamedTensor } from '../../src/model/safetensors.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const fixture = (name: string) => FIXTURES + name;

export function loadFixture(name: string) {
  return {
    weights: fixture(`${name}.weights.safetensors`),
    io: readSafetensors(fixture(`${name}.io.safetensors`)).tensors,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

