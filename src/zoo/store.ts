// The zoo's cache in the workspace: <workspace>/models/<repo>/<revision>/<file> (the hub's bytes, with
// <file>.sha256 beside them) and <file>.studio.safetensors (converted for the studio). A cached model needs
// no network. Pulling = download (src/zoo/download.ts) + verify and convert (src/zoo/verify.ts), all before
// the file is published; importing does the same with a local file. The .sha256 is written last: a model is
// cached only when both files are complete and checked. A cached copy that no longer opens is pulled again.
import { createHash } from 'node:crypto';
import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isHuggingFace } from '../model/huggingface.ts';
import { parseSafetensors, readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { FileReadError, readRegularFile } from '../util/read-file.ts';
import { CacheDirError, ensureCacheDir } from './cache-dir.ts';
import { cachedSha256, DownloadError, downloadHubFile, publishPart, writePart, type DownloadFailure, type DownloadOptions } from './download.ts';
import { checkedCopy, valueBudget, writeVerifiedCopy, ZooFileError } from './verify.ts';
import type { VariantName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';
import { approxBytes, findZooEntry, ZOO } from './zoo.ts';

export interface ZooPaths {
  dir: string;
  /** The hub's file as downloaded (its sha256 is the hub's). */
  hubFile: string;
  /** The file the studio loads. */
  weights: string;
}

export function zooPaths(entry: ZooEntry<VariantName>, workspace: string): ZooPaths {
  const dir = join(workspace, 'models', ...entry.repo.split('/'), encodeURIComponent(entry.revision));
  const hubFile = join(dir, ...entry.file.split('/'));
  return { dir, hubFile, weights: hubFile.replace(/(\.safetensors)?$/, '.studio.safetensors') };
}

export interface ZooListing {
  name: string;
  repo: string;
  revision: string;
  variant: VariantName;
  source: string;
  /** Bytes on disk when cached, otherwise the approximate download size. */
  size: number;
  sizeApprox: boolean;
  cached: boolean;
  channels: 'RGB' | 'BGR';
  top1: number | null;
}

function isRegularFile(path: string): boolean {
  try { return lstatSync(path).isFile(); } catch { return false; }
}

export function isCached(entry: ZooEntry<VariantName>, workspace: string): boolean {
  const p = zooPaths(entry, workspace);
  return cachedSha256(p.hubFile) !== null && isRegularFile(p.weights);
}

export function listZoo(workspace: string): ZooListing[] {
  return ZOO.map((e) => {
    const p = zooPaths(e, workspace);
    const cached = isCached(e, workspace);
    return {
      name: e.name, repo: e.repo, revision: e.revision, variant: e.variant, source: e.source,
      size: cached ? statSync(p.hubFile).size : approxBytes(e), sizeApprox: !cached, cached, channels: e.channels, top1: e.top1 ?? null,
    };
  });
}

export interface PullResult {
  name: string;
  repo: string;
  revision: string;
  /** The hub's file. */
  path: string;
  sha256: string;
  size: number;
  /** The converted file the studio loads. */
  weights: string;
  /** False when it was already in the cache (no network used). */
  downloaded: boolean;
  notes: string[];
}

export class ZooError extends Error {}

export function zooEntryOrThrow(name: string): ZooEntry<VariantName> {
  const e = findZooEntry(name);
  if (!e) throw new ZooError(`${JSON.stringify(name).slice(0, 100)} is not a zoo model (one of: ${ZOO.map((z) => z.name).join(', ')}, or their repo ids)`);
  return e;
}

/** The most bytes a zoo file may have: each is a few MB to a few tens, and four times that is generous and bounded. */
function fileCap(entry: ZooEntry<VariantName>): number {
  return approxBytes(entry) * 4 + 1024 * 1024;
}

/** Why the cached studio copy cannot be used (it does not open, or was made from another file), or null. */
function damage(p: ZooPaths, sha256: string): string | null {
  if (!isRegularFile(p.weights)) return `${p.weights} is missing or not a regular file`;
  try {
    if (readSafetensors(p.weights).metadata.source_sha256 !== sha256) return `${p.weights} was not made from the cached download`;
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Removes a cached model, its .sha256 (the mark of a complete entry) first. */
function removeCached(p: ZooPaths): void {
  for (const f of [`${p.hubFile}.sha256`, p.weights, p.hubFile]) {
    try { unlinkSync(f); } catch { /* not there */ }
  }
}

/** Failures that mean the Hub could not be used at all, after which the person needs another way in. */
const HUB_UNAVAILABLE: ReadonlySet<DownloadFailure> = new Set(['unreachable', 'proxy', 'refused', 'not_found']);

/** What a person can do without the Hub. */
export function withoutTheHub(entry: ZooEntry<VariantName>): string {
  return `Without the Hub: import a local copy (mobilevit-studio models import <file.safetensors> --as ${entry.name}), `
    + 'set HF_ENDPOINT to a mirror of huggingface.co, or train from scratch';
}

/** One error for a failed pull or import: what happened, and for an unreachable Hub, what to do instead. */
function explained(entry: ZooEntry<VariantName>, e: unknown): unknown {
  if (e instanceof DownloadError && HUB_UNAVAILABLE.has(e.failure)) return new DownloadError(`${e.message}. ${withoutTheHub(entry)}`, e.failure);
  if (e instanceof ZooFileError) return new ZooError(`${e.message}; nothing was cached`);
  if (e instanceof CacheDirError) return new ZooError(e.message);
  return e;
}

function pullResult(entry: ZooEntry<VariantName>, p: ZooPaths, sha256: string, downloaded: boolean, notes: string[]): PullResult {
  if (entry.channels === 'BGR') notes.push(`${entry.repo} was trained on BGR input: its stem's input channels are swapped so that it takes RGB like every studio model`);
  if (entry.normalize) notes.push(`${entry.repo} was trained on ImageNet mean/std input: the normalisation is folded into its stem`);
  return { name: entry.name, repo: entry.repo, revision: entry.revision, path: p.hubFile, sha256, size: statSync(p.hubFile).size, weights: p.weights, downloaded, notes };
}

/**
 * Makes `name` available in the workspace's cache; downloads only what is missing or damaged. A download is
 * published only once it has passed every check (size, sha256, header, the architecture's keys and shapes).
 */
export async function pullZoo(name: string | ZooEntry<VariantName>, workspace: string, opts: DownloadOptions = {}): Promise<PullResult> {
  const entry = typeof name === 'string' ? zooEntryOrThrow(name) : name;
  const p = zooPaths(entry, workspace);
  const notes: string[] = [];
  const recorded = cachedSha256(p.hubFile);
  if (recorded !== null) {
    const why = damage(p, recorded);
    if (why === null) return pullResult(entry, p, recorded, false, notes);
    removeCached(p);
    notes.push(`the cached copy of ${entry.name} could not be used (${why}): pulled again`);
  }
  let r;
  try {
    ensureCacheDir(workspace, dirname(p.hubFile));
    r = await downloadHubFile(entry.repo, entry.revision, entry.file, p.hubFile, {
      ...opts, maxBytes: opts.maxBytes ?? fileCap(entry),
      verify: (part, sha256) => writeVerifiedCopy(entry, part, sha256, p.weights),
    });
  } catch (e) {
    throw explained(entry, e);
  }
  if (r.verifiedBy === 'none') notes.push(`the hub sent no sha256 for ${entry.repo}/${entry.file}: stored unverified (sha256 ${r.sha256})`);
  if (entry.commit && r.commit && !r.commit.startsWith(entry.commit)) {
    notes.push(`${entry.repo}@${entry.revision} is now at commit ${r.commit.slice(0, 12)}, not the ${entry.commit} the studio was written against`);
  }
  return pullResult(entry, p, r.sha256, true, notes);
}

/**
 * The zoo model a file is, from its header alone: its key names (timm's or transformers') and its number of
 * values, which falls between the parameters and the value budget of exactly one zoo model of that naming.
 */
function recognise(file: string, buf: Buffer): ZooEntry<VariantName> {
  let candidates: ZooEntry<VariantName>[] = [];
  try {
    const { tensors } = parseSafetensors(buf, file); // each tensor's data is decoded on first use: not here
    const values = [...tensors.values()].reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0);
    const hf = isHuggingFace(tensors);
    candidates = ZOO.filter((e) => (e.keys === 'huggingface') === hf && values >= e.params && values <= valueBudget(e));
  } catch (e) {
    throw new ZooError((e as Error).message);
  }
  if (candidates.length === 1) return candidates[0];
  throw new ZooError(`${file}: cannot tell which zoo model this is by its key names and size; name it with --as (one of ${ZOO.map((e) => e.name).join(', ')})`);
}

/** PyTorch's own formats: a zip (torch.save) or a bare pickle, by name or by their first bytes. */
function isPyTorchFile(file: string, head: Buffer): boolean {
  return /\.(pt|pth|bin|ckpt|pkl)$/i.test(file) || head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')) || (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5);
}

/**
 * Puts a local .safetensors file into the cache as zoo model `name` (recognised from the file when not given),
 * checked as a download is (header, the architecture's keys and shapes) but against no checksum of the Hub's;
 * replaces what was cached under it only once it has passed (until its .sha256 is rewritten, the old one no
 * longer matches the copy: damage, pulled again).
 */
export async function importZoo(file: string, name: string | ZooEntry<VariantName> | undefined, workspace: string): Promise<PullResult> {
  const named = typeof name === 'string' ? zooEntryOrThrow(name) : name;
  let buf: Buffer;
  try {
    buf = readRegularFile(file, { maxBytes: named ? fileCap(named) : Math.max(...ZOO.map(fileCap)), what: 'weights file' });
  } catch (e) {
    throw e instanceof FileReadError ? new ZooError(e.message) : e;
  }
  if (isPyTorchFile(file, buf)) {
    throw new ZooError(`${file}: a PyTorch checkpoint cannot be imported yet; save it as safetensors first `
      + '(python: safetensors.torch.save_file(torch.load(f, weights_only=True), "model.safetensors"))');
  }
  const entry = named ?? recognise(file, buf);
  const p = zooPaths(entry, workspace);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const part = `${p.hubFile}.import`;
  try {
    // Checked in memory first, so a refused file leaves nothing at all in the workspace (not even a folder).
    const copy = await checkedCopy(entry, buf, sha256, file);
    ensureCacheDir(workspace, dirname(p.hubFile));
    writePart(part, buf);
    writeSafetensors(p.weights, copy.tensors, copy.metadata);
    publishPart(part, p.hubFile, sha256);
  } catch (e) {
    try { unlinkSync(part); } catch { /* not written */ }
    throw explained(entry, e);
  }
  const how = named ? '' : ', recognised by its key names and size';
  return pullResult(entry, p, sha256, false, [`imported ${file} as ${entry.name}${how} (sha256 ${sha256}): checked as a ${entry.variant} checkpoint, not against the Hub's checksum`]);
}
