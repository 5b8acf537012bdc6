// PyTorch checkpoints (.pt, .pth, .bin: torch.save's zip format since PyTorch 1.6) read without running them:
// data.pkl goes through the restricted unpickler (util/pickle.ts) whose only globals are what a state_dict is
// made of: OrderedDict, the tensor and parameter rebuilds, and the storage classes of the usual dtypes. Each
// storage is its own entry in the archive, read as little-endian data and checked against the numel its
// reference declares; each tensor's size, stride and offset must stay inside its storage. Tensors come out as
// float32 under their state_dict keys, like a safetensors file; a {"model": …} or {"state_dict": …} wrapper is
// unwrapped. A legacy (pre-1.6) file gets a sentence saying how to convert it.
import { readRegularFile } from '../util/read-file.ts';
import { unpickle, UnpickleError, type PickleGlobal, type PickleValue } from '../util/pickle.ts';
import { looksLikeZip, ZipArchive, ZipError } from '../util/zip.ts';
import { decodeElements, DTYPE_BYTES, SAFETENSORS_LIMITS, type NamedTensor, type TensorMap } from './safetensors.ts';

export class TorchCheckpointError extends Error {}

/** torch's storage classes → the dtype names the studio decodes. */
const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16',
  LongStorage: 'I64', IntStorage: 'I32', ByteStorage: 'U8', CharStorage: 'I8', BoolStorage: 'BOOL',
};

interface Storage {
  dtype: string;
  bytes: Buffer;
  numel: number;
}

interface StorageClass extends PickleGlobal {
  readonly dtype: string;
}

/** A tensor rebuilt from a storage: what _rebuild_tensor_v2 returns here. */
class RebuiltTensor {
  constructor(readonly value: NamedTensor) {}
}

const isIntList = (v: PickleValue): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);

/** True for a file torch.save wrote in its legacy format (a bare pickle stream that starts with a magic number). */
export function isLegacyTorch(bytes: Buffer): boolean {
  return bytes.length > 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
}

/** Reads the state_dict of a PyTorch checkpoint file. */
export function readTorchCheckpoint(path: string): TensorMap {
  const bytes = readRegularFile(path, { maxBytes: SAFETENSORS_LIMITS.maxFileBytes, what: 'PyTorch checkpoint' });
  return parseTorchCheckpoint(bytes, path);
}

export function parseTorchCheckpoint(bytes: Buffer, name = 'checkpoint'): TensorMap {
  const fail = (why: string): never => { throw new TorchCheckpointError(`${name}: ${why}`); };
  if (!looksLikeZip(bytes)) {
    if (isLegacyTorch(bytes)) {
      fail('is a PyTorch checkpoint in the legacy format (before PyTorch 1.6), which is not read; convert it first: in Python, torch.save(torch.load(path), new_path) writes the zip format (or save it as .safetensors)');
    }
    fail('is not a PyTorch checkpoint (torch.save writes a zip archive holding data.pkl)');
  }
  try {
    const zip = new ZipArchive(bytes, name);
    const pkl = [...zip.entries.keys()].find((k) => k === 'data.pkl' || k.endsWith('/data.pkl'));
    if (!pkl) return fail('holds no data.pkl: it is a zip archive, but not one written by torch.save');
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const storages = new Map<string, Storage>();
    // Every tensor is decoded into its own array: a view (stride 0 broadcasts one element) can declare far more
    // elements than its storage holds, so the total is bounded like a safetensors file's.
    let elements = 0;
    const maxElements = SAFETENSORS_LIMITS.maxFileBytes / 4;

    const storageClasses = new Map<string, StorageClass>(Object.entries(STORAGE_DTYPES).map(([cls, dtype]) => [cls, { module: 'torch', name: cls, dtype }]));
    const globals: Record<string, PickleGlobal> = {
      'collections.OrderedDict': {
        module: 'collections', name: 'OrderedDict',
        call: (args) => {
          const m = new Map<PickleValue, PickleValue>();
          if (Array.isArray(args[0])) for (const pair of args[0]) if (Array.isArray(pair) && pair.length === 2) m.set(pair[0], pair[1]);
          return m;
        },
      },
      'torch._utils._rebuild_tensor_v2': { module: 'torch._utils', name: '_rebuild_tensor_v2', call: (args) => rebuild(args) },
      'torch._utils._rebuild_parameter': {
        module: 'torch._utils', name: '_rebuild_parameter',
        call: (args) => (args[0] instanceof RebuiltTensor ? args[0] : fail('has a parameter that is not a tensor')),
      },
    };

    const loadStorage = (pid: PickleValue): PickleValue => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return fail('refers to external data that is not a tensor storage');
      const [, cls, key, , numel] = pid;
      const dtype = (cls as StorageClass)?.dtype;
      if (!dtype) return fail('stores a tensor in a storage class that is not read');
      if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) return fail('names a storage entry with an unexpected name');
      if (!Number.isSafeInteger(numel) || (numel as number) < 0) return fail(`declares storage ${key} with ${String(numel)} elements`);
      const cached = storages.get(key as string);
      if (cached) return cached;
      const entry = `${prefix}data/${key}`;
      if (!zip.entries.has(entry)) return fail(`has no entry ${entry} for storage ${key}`);
      const data = zip.read(entry);
      const want = (numel as number) * DTYPE_BYTES[dtype];
      if (data.length !== want) fail(`declares storage ${key} as ${numel} ${dtype} elements (${want} bytes) but its entry holds ${data.length}`);
      const storage = { dtype, bytes: data, numel: numel as number };
      storages.set(key as string, storage);
      return storage;
    };

    const rebuild = ([storage, offset, size, stride]: PickleValue[]): RebuiltTensor => {
      const s = storage as Storage;
      if (!s || !(s.bytes instanceof Buffer)) fail('rebuilds a tensor from something that is not a storage');
      if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
        fail('rebuilds a tensor with a malformed offset, size or stride');
      }
      const shape = size as number[];
      const strides = stride as number[];
      if (shape.length > SAFETENSORS_LIMITS.maxRank) fail(`has a tensor of rank ${shape.length}`);
      const count = shape.reduce((a, b) => a * b, 1);
      const last = (offset as number) + shape.reduce((a, d, i) => a + (d > 0 ? (d - 1) * strides[i] : 0), 0);
      if (count > 0 && last >= s.numel) fail(`has a tensor [${shape}] that reaches element ${last} of a storage of ${s.numel}`);
      elements += count;
      if (elements > maxElements) fail(`declares more than ${maxElements} tensor elements in all (the tensor [${shape}] passes the limit)`);
      return new RebuiltTensor({ shape, data: gather(s, offset as number, shape, strides, count) });
    };

    const value = unpickle(zip.read(pkl), {
      source: `${name} (data.pkl)`,
      findGlobal: (module, cls) => (module === 'torch' ? storageClasses.get(cls) : globals[`${module}.${cls}`]),
      persistentLoad: loadStorage,
    });
    return stateDictOf(value, fail);
  } catch (e) {
    if (e instanceof ZipError || e instanceof UnpickleError) throw new TorchCheckpointError(e.message);
    throw e;
  }
}

/** The tensor's elements in row-major order, following its strides through the storage. */
function gather(s: Storage, offset: number, shape: number[], strides: number[], count: number): Float32Array {
  const contiguous = shape.every((_, i) => strides[i] === shape.slice(i + 1).reduce((a, b) => a * b, 1) || shape[i] === 1);
  const size = DTYPE_BYTES[s.dtype];
  if (contiguous) return decodeElements(s.dtype, s.bytes.subarray(offset * size, (offset + count) * size), count);
  const all = decodeElements(s.dtype, s.bytes, s.numel);
  const out = new Float32Array(count);
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < count; o++) {
    let src = offset;
    for (let a = 0; a < shape.length; a++) src += idx[a] * strides[a];
    out[o] = all[src];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** The state_dict in `value`: a dict of tensors, or one inside a {"model"} / {"state_dict"} wrapper. */
function stateDictOf(value: PickleValue, fail: (why: string) => never): TensorMap {
  const tensorsOf = (m: Map<PickleValue, PickleValue>): TensorMap | undefined => {
    const out: TensorMap = new Map();
    for (const [k, v] of m) {
      if (!(v instanceof RebuiltTensor)) return undefined;
      if (typeof k !== 'string') return undefined;
      out.set(k, v.value);
    }
    return out.size > 0 ? out : undefined;
  };
  if (!(value instanceof Map)) return fail('does not hold a dict of tensors (a state_dict)');
  const direct = tensorsOf(value);
  if (direct) return direct;
  for (const key of ['state_dict', 'model', 'model_state_dict', 'module']) {
    const inner = value.get(key);
    if (inner instanceof Map) {
      const found = tensorsOf(inner);
      if (found) return found;
    }
  }
  const keys = [...value.keys()].filter((k) => typeof k === 'string').slice(0, 8).join(', ');
  return fail(`holds a dict (${keys}) that is neither a state_dict nor one wrapped in "model" or "state_dict"`);
}
