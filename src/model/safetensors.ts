// Safetensors read/write, by hand: a little-endian u64 header length, a JSON header, then raw
// little-endian tensor data. Every tensor we hand out is float32 (weights are fp32 in this studio);
// F16/BF16/F64 and integer tensors (timm's num_batches_tracked is I64) are converted on read.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.ts';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
export type TensorMap = Map<string, NamedTensor>;

export interface SafetensorsFile {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1, BOOL: 1 };

export class SafetensorsError extends Error {}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decode(dtype: string, bytes: Buffer, count: number): Float32Array {
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32': out[i] = dv.getFloat32(i * 4, true); break;
      case 'F64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'F16': out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0]; break;
      case 'I64': out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'I32': out[i] = dv.getInt32(i * 4, true); break;
      case 'U8': case 'BOOL': out[i] = dv.getUint8(i); break;
      case 'I8': out[i] = dv.getInt8(i); break;
    }
  }
  return out;
}

/** Parses a safetensors buffer; `source` names the file in error messages. */
export function parseSafetensors(buf: Buffer, source = 'buffer'): SafetensorsFile {
  if (buf.length < 8) throw new SafetensorsError(`${source}: not a safetensors file (${buf.length} bytes, too short for a header)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n <= 0 || 8 + n > buf.length) throw new SafetensorsError(`${source}: not a safetensors file (header length ${n} does not fit in ${buf.length} bytes)`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(`${source}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = info ?? {}; continue; }
    const { dtype, shape, data_offsets: off } = info ?? {};
    if (!(dtype in BYTES) || !Array.isArray(shape) || !Array.isArray(off) || off.length !== 2) {
      throw new SafetensorsError(`${source}: tensor "${name}" has a malformed header entry`);
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const [b, e] = off;
    if (e - b !== count * BYTES[dtype] || dataStart + e > buf.length || b < 0) {
      throw new SafetensorsError(`${source}: tensor "${name}" (${dtype} [${shape}]) has data_offsets [${b}, ${e}] that do not match its size or the file (file truncated?)`);
    }
    const bytes = buf.subarray(dataStart + b, dataStart + e);
    const data = dtype === 'F32'
      ? new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
      : decode(dtype, bytes, count);
    tensors.set(name, { shape: shape.slice(), data });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  return parseSafetensors(buf, path);
}

/** Serialises tensors (all F32) with the data section aligned to 8 bytes, keys in the given order. */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: TensorMap, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
