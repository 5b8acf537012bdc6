// Reference fixtures from timm (test/fixtures/, copied from shared/fixtures/mobilevit) and comparisons.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type NamedTensor, type TensorMap } from '../../src/model/safetensors.ts';

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

/** max |a − b| / max(1, |b|) elementwise: the issues' "1e-4 × max(1, |reference|)". */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

/** Pixels stored as bytes (test/fixtures/seg's shape fixtures): the reference's input was bytes / 255 in float32. */
export function bytePixels(u8: NamedTensor): Float32Array {
  return Float32Array.from(u8.data, (v) => v / 255);
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}


/**
 * The XXS fixture's weights under Hugging Face transformers' names (apple/mobilevit-*), built from the mapping
 * table beside the fixtures: q/k/v split out of timm's fused qkv. `renamed` lists the one-to-one renames.
 */
export function huggingFaceFixture(): { hf: TensorMap; ref: TensorMap; renamed: [hfKey: string, timmKey: string][] } {
  const rows = readFileSync(join(FIXTURES, 'timm_mobilevit_xxs_keys.txt'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#')).map((l) => l.trim().split(/\s+/));
  const ref = readSafetensors(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors')).tensors;
  const hf: TensorMap = new Map();
  const renamed: [string, string][] = [];
  for (const [timm, , , hfKey] of rows) {
    const t = ref.get(timm);
    if (!t) continue; // num_batches_tracked
    if (hfKey.includes('{query,key,value}')) {
      const d = t.shape[0] / 3;
      const per = t.data.length / 3;
      ['query', 'key', 'value'].forEach((part, i) => hf.set(hfKey.replace('{query,key,value}', part),
        { shape: [d, ...t.shape.slice(1)], data: t.data.slice(i * per, (i + 1) * per) }));
    } else {
      renamed.push([hfKey, timm]);
      hf.set(hfKey, t);
    }
  }
  return { hf, ref, renamed };
}

/** A safetensors file from a header (an object, or raw text) and `dataBytes` zero bytes, for malformed-file cases. */
export function rawSafetensors(header: unknown, dataBytes = 0, headerText?: string): Buffer {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}
