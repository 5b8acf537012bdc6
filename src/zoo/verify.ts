// What a file must be before it enters the zoo's cache as a given model (a download or an import): a
// safetensors file whose header declares floating-point weights of about the model's size — checked on the
// header alone, before any tensor is decoded, so a file of one huge U8 tensor costs no memory — or a PyTorch
// checkpoint (read without running it, its decoding bounded by torch-checkpoint.ts, then held to the same value
// budget); and, once converted, exactly the architecture's keys and shapes, checked by the loader every later
// use goes through. Only then is the studio's copy written (always safetensors: src/zoo/convert.ts makes a
// classifier's; a segmenter's or detector's keeps its file's names, which the loader maps and whose BGR stem it
// swaps on every load as it does for the original file); nothing is written otherwise.
import { parseSafetensors, SAFETENSORS_LIMITS, validateSafetensors, writeSafetensors, type TensorMap } from '../model/safetensors.ts';
import { isLegacyTorch, parseTorchCheckpoint } from '../model/torch-checkpoint.ts';
import { FileReadError, readRegularFile } from '../util/read-file.ts';
import { looksLikeZip } from '../util/zip.ts';
import { convertTensors, LABELS_METADATA_KEY } from './convert.ts';
import { zooLabels } from './labels.ts';
import { isClassifierRow } from './zoo.ts';
import type { NetworkName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';

export class ZooFileError extends Error {}

type HeaderEntry = ReturnType<typeof validateSafetensors>['entries'][number];

const WEIGHT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
/** BatchNorm's step counters are integers in timm's and transformers' files. */
const isCounter = (name: string) => name.endsWith('num_batches_tracked');

/**
 * The most values a checkpoint of `entry` may hold: its parameters plus BatchNorm's running statistics and
 * counters, which come to under 2 % of any zoo model's; the margin keeps a file of the wrong model or of
 * padding from being decoded (each value becomes 4 bytes of Float32Array).
 */
export function valueBudget(entry: ZooEntry<NetworkName>): number {
  return Math.ceil(entry.params * 1.05) + 100_000;
}

/** Checks the header's dtypes and its total number of values against `entry`, before anything is decoded. */
export function checkHeaderBudget(entry: ZooEntry<NetworkName>, entries: readonly HeaderEntry[], source: string): void {
  let values = 0;
  for (const e of entries) {
    const allowed = WEIGHT_DTYPES.has(e.dtype) || (isCounter(e.name) && (e.dtype === 'I64' || e.dtype === 'I32'));
    if (!allowed) throw new ZooFileError(`${source}: holds a ${e.dtype} tensor where ${entry.name} has floating-point weights: not a ${entry.name} checkpoint`);
    values += e.count;
  }
  const budget = valueBudget(entry);
  if (values > budget) {
    throw new ZooFileError(`${source}: holds ${values.toLocaleString('en')} values, more than the ${budget.toLocaleString('en')} a ${entry.name} checkpoint can have: refused before converting it`);
  }
}

/** The values of a PyTorch checkpoint's tensors (decoded already, within torch-checkpoint.ts's bound), held to `entry`'s budget. */
function checkValueBudget(entry: ZooEntry<NetworkName>, tensors: TensorMap, source: string): void {
  const values = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
  const budget = valueBudget(entry);
  if (values > budget) {
    throw new ZooFileError(`${source}: holds ${values.toLocaleString('en')} values, more than the ${budget.toLocaleString('en')} a ${entry.name} checkpoint can have: refused`);
  }
}

/**
 * Loads `tensors` (PyTorch layouts; timm's names for a classifier, any name its family reads otherwise) into a
 * fresh `entry.variant` network of `classes` outputs and disposes it: every key and shape must be the
 * architecture's, the classifier included. The model code (and TensorFlow.js with it) is loaded only here, when
 * a new file is checked, never to list or use the cache.
 */
export async function checkArchitecture(entry: ZooEntry<NetworkName>, tensors: TensorMap, classes: number, source: string): Promise<void> {
  const [{ createNetwork }, { loadWeights }] = await Promise.all([import('../model/networks.ts'), import('../model/weights.ts')]);
  const model = createNetwork(entry.variant, classes);
  try {
    loadWeights(model, tensors, { source, allowHeadMismatch: false });
  } catch (e) {
    throw new ZooFileError(`${(e as Error).message}: not a ${entry.name} checkpoint`);
  } finally {
    model.dispose();
  }
}

/** The hub file's place on the Hub, as the studio's copy records it and messages name it. */
export function hubOrigin(entry: ZooEntry<NetworkName>): string {
  return `${entry.repo}@${entry.revision}/${entry.file}`;
}

/** The studio's copy of a zoo file: its tensors and metadata, ready to be written. */
export interface StudioCopy {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

/**
 * The studio's copy of `buf` (the hub's file, or the local file `importedFrom`), once it has passed every check
 * above; nothing is written. The copy's `source` metadata is always the zoo row's place on the Hub (what names
 * the row it came from); an import adds `imported_from`. Every refusal of the file is a ZooFileError.
 */
export async function checkedCopy(entry: ZooEntry<NetworkName>, buf: Buffer, sha256: string, importedFrom?: string): Promise<StudioCopy> {
  const origin = importedFrom ?? hubOrigin(entry);
  let tensors: TensorMap;
  try {
    let read: TensorMap;
    if (looksLikeZip(buf) || isLegacyTorch(buf)) {
      read = parseTorchCheckpoint(buf, origin);
      checkValueBudget(entry, read, origin);
    } else {
      checkHeaderBudget(entry, validateSafetensors(buf, origin).entries, origin);
      read = parseSafetensors(buf, origin).tensors;
    }
    // A classifier's file is converted to timm's names and RGB now; a dense network's keeps its names (see above).
    tensors = isClassifierRow(entry) ? convertTensors(entry, read) : withoutCounters(read);
  } catch (e) {
    // Not a safetensors file or PyTorch checkpoint, or not one convertTensors can read (no stem, half of a q/k/v): a file error.
    if (e instanceof ZooFileError || !(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) throw e;
    throw new ZooFileError(e.message.startsWith(origin) ? e.message : `${origin}: ${e.message}: not a ${entry.name} checkpoint`);
  }
  const labels = zooLabels(entry.labels);
  await checkArchitecture(entry, tensors, labels.length, origin);
  return {
    tensors,
    metadata: {
      format: isClassifierRow(entry) ? 'timm' : entry.keys, variant: entry.variant, num_classes: String(labels.length), source: hubOrigin(entry), source_sha256: sha256,
      ...(importedFrom !== undefined ? { imported_from: importedFrom } : {}),
      input: isClassifierRow(entry)
        ? 'RGB in [0, 1]' + (entry.channels === 'BGR' ? ' (BGR stem swapped)' : '') + (entry.normalize ? ' (mean/std folded into the stem)' : '')
        : `${entry.channels} in [0, 1] under ${entry.keys} names: the loader maps them and swaps a BGR stem, so the network takes RGB`,
      [LABELS_METADATA_KEY]: JSON.stringify(labels), label_set: entry.labels,
    },
  };
}

/** BatchNorm's step counters: integers no network of the studio reads. */
function withoutCounters(t: TensorMap): TensorMap {
  return new Map([...t].filter(([k]) => !isCounter(k)));
}

/** Reads the downloaded file at `source` and writes its checked studio copy to `dest` (nothing when refused). */
export async function writeVerifiedCopy(entry: ZooEntry<NetworkName>, source: string, sha256: string, dest: string): Promise<void> {
  let buf: Buffer;
  try {
    buf = readRegularFile(source, { maxBytes: SAFETENSORS_LIMITS.maxFileBytes, what: 'weights file' });
  } catch (e) {
    if (e instanceof FileReadError) throw new ZooFileError(`${hubOrigin(entry)}: ${e.reason}`);
    throw e;
  }
  const copy = await checkedCopy(entry, buf, sha256);
  writeSafetensors(dest, copy.tensors, copy.metadata);
}
