// Safetensors read/write, by hand: a little-endian u64 header length, a JSON header, then raw
// little-endian tensor data. Every tensor we hand out is float32 (weights are fp32 in this studio);
// F16/BF16/F64 and integer tensors (timm's num_batches_tracked is I64) are converted on read.
import { FileReadError, readRegularFile } from '../util/read-file.ts';
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

/** Bytes per element of each dtype the studio reads (safetensors' names; PyTorch checkpoints map onto them). */
export const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, I8: 1, BOOL: 1 };

export class SafetensorsError extends Error {}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** `count` little-endian elements of `dtype` from `bytes`, as float32. */
export function decodeElements(dtype: string, bytes: Buffer, count: number): Float32Array {
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

/** Limits on what a safetensors file may declare; checked before any tensor is built. */
export const SAFETENSORS_LIMITS = {
  /** The JSON header (safetensors' own reader allows 100 MB; ours are a few tens of kB). */
  maxHeaderBytes: 16 * 1024 * 1024,
  /** The whole file (MobileViT-S with 100,000 classes is about 280 MB in F32). */
  maxFileBytes: 512 * 1024 * 1024,
  maxTensors: 100_000,
  maxRank: 8,
};

/** A tensor name as it may appear in a message: printable, and short. */
export function safeName(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 80)}…` : clean);
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

/** Validates one header entry; every number is checked for type and range before it is used. */
function checkEntry(name: string, info: unknown, dataLength: number, fail: (m: string) => never): Entry {
  const what = `tensor ${safeName(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${what} has a header entry that is not an object`);
  const { dtype, shape, data_offsets: off } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) fail(`${what} has an unknown dtype (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`);
  if (!Array.isArray(shape) || shape.length > SAFETENSORS_LIMITS.maxRank) fail(`${what} has no valid shape (an array of at most ${SAFETENSORS_LIMITS.maxRank} dimensions)`);
  for (const d of shape) if (!Number.isSafeInteger(d) || d < 0) fail(`${what} has a shape dimension that is not a non-negative integer`);
  let count = shape.includes(0) ? 0 : 1;
  for (const d of count === 0 ? [] : (shape as number[])) {
    count *= d;
    // The data must fit in the file, so a product past the file's size is already wrong (and stays exact).
    if (count > dataLength) fail(`${what} declares more elements than the file holds (file truncated?)`);
  }
  if (!Array.isArray(off) || off.length !== 2 || !off.every((v) => Number.isSafeInteger(v) && v >= 0)) {
    fail(`${what} has malformed data_offsets (expected two non-negative integers)`);
  }
  const [begin, end] = off as [number, number];
  if (begin > end || end > dataLength) fail(`${what} has data_offsets outside the file's data (file truncated?)`);
  if (end - begin !== count * DTYPE_BYTES[dtype]) fail(`${what} (${dtype} [${shape.join(', ')}]) needs ${count * DTYPE_BYTES[dtype]} bytes but its data_offsets span ${end - begin}`);
  return { name, dtype, shape: shape.slice() as number[], count, begin, end };
}

/**
 * Checks the whole header against the buffer: lengths, dtypes, shapes against byte ranges, ranges in bounds
 * and not overlapping. Returns the entries and metadata; builds no tensor. Messages describe the problem and
 * never quote the file's bytes (a path to any readable file must not reveal what is in it).
 */
export function validateSafetensors(buf: Buffer, source = 'buffer'): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const fail = (m: string): never => {
    throw new SafetensorsError(`${source}: ${m}`);
  };
  if (buf.length < 8) fail(`not a safetensors file: ${buf.length} bytes is too short for a header`);
  const n = buf.readBigUInt64LE(0);
  if (n === 0n) fail('not a safetensors file: the header length is zero');
  if (n > BigInt(buf.length - 8)) fail('not a safetensors file: the header length is larger than the file');
  if (n > BigInt(SAFETENSORS_LIMITS.maxHeaderBytes)) fail(`not a safetensors file: the header is larger than the ${SAFETENSORS_LIMITS.maxHeaderBytes / 1024 / 1024} MB allowed`);
  const headerLength = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLength)));
  } catch {
    // Neither the parser's message nor the text: both would quote the file.
    fail('not a safetensors file: the header is not valid UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('not a safetensors file: the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = buf.length - dataStart;
  const names = Object.keys(header as object);
  if (names.length > SAFETENSORS_LIMITS.maxTensors + 1) fail(`the header lists more than ${SAFETENSORS_LIMITS.maxTensors} tensors`);
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of names) {
    const info = (header as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info) || !Object.values(info).every((v) => typeof v === 'string')) {
        fail('the header\'s __metadata__ is not an object of strings');
      }
      metadata = Object.fromEntries(Object.entries(info as Record<string, string>));
      continue;
    }
    entries.push(checkEntry(name, info, dataLength, fail));
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) fail(`tensors ${safeName(sorted[i - 1].name)} and ${safeName(sorted[i].name)} have overlapping data`);
  }
  return { entries, metadata, dataStart };
}

/** Parses a safetensors buffer; `source` names the file in error messages. The whole file is validated first. */
export function parseSafetensors(buf: Buffer, source = 'buffer'): SafetensorsFile {
  const { entries, metadata, dataStart } = validateSafetensors(buf, source);
  const tensors: TensorMap = new Map();
  for (const { name, dtype, shape, count, begin, end } of entries) {
    // Decoded on first use: a loader checks every key and shape against the model first, so a file that
    // does not fit costs no more memory than its own bytes.
    let data: Float32Array | undefined;
    const tensor = { shape } as NamedTensor;
    Object.defineProperty(tensor, 'data', {
      enumerable: true,
      get: () => {
        if (!data) {
          const bytes = buf.subarray(dataStart + begin, dataStart + end);
          data = dtype === 'F32'
            ? new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
            : decodeElements(dtype, bytes, count);
        }
        return data;
      },
      set: (v: Float32Array) => {
        data = v;
      },
    });
    tensors.set(name, tensor);
  }
  return { tensors, metadata };
}

/** The bytes of a weights file: a regular file of at most `maxBytes` (never a FIFO or a device), read whole. */
export function readWeightsBytes(path: string, maxBytes = SAFETENSORS_LIMITS.maxFileBytes): Buffer {
  try {
    return readRegularFile(path, { maxBytes, what: 'safetensors file' });
  } catch (e) {
    if (e instanceof FileReadError) throw new SafetensorsError(e.message);
    throw e;
  }
}

/** Reads and parses a safetensors file: a regular file of at most `maxBytes` (default SAFETENSORS_LIMITS.maxFileBytes). */
export function readSafetensors(path: string, maxBytes = SAFETENSORS_LIMITS.maxFileBytes): SafetensorsFile {
  return parseSafetensors(readWeightsBytes(path, maxBytes), path);
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
