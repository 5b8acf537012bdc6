// The zoo's cache in the workspace: <workspace>/models/<repo>/<revision>/<file> (the hub's bytes as published,
// safetensors or a PyTorch .pt/.bin, with <file>.sha256 beside them) and <file>.studio.safetensors (always
// safetensors, made for the studio: src/zoo/verify.ts). A cached model needs no network. Pulling = download (src/zoo/download.ts) + verify and convert (src/zoo/verify.ts), all before
// the file is published; importing does the same with a local file. The .sha256 is written last: a model is
// cached only when both files are complete and checked. A cached copy that no longer opens is pulled again.
import { createHash } from 'node:crypto';
import { lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isCvnets } from '../model/cvnets.ts';
import { isHuggingFace } from '../model/huggingface.ts';
import { parseSafetensors, readSafetensors, writeSafetensors, type TensorMap } from '../model/safetensors.ts';
import { isLegacyTorch, parseTorchCheckpoint } from '../model/torch-checkpoint.ts';
import { looksLikeZip } from '../util/zip.ts';
import { FileReadError, readRegularFile } from '../util/read-file.ts';
import { CacheDirError, ensureCacheDir } from './cache-dir.ts';
import { cachedSha256, DownloadError, downloadFile, downloadHubFile, publishPart, writePart, type DownloadFailure, type DownloadOptions, type DownloadResult } from './download.ts';
import { firstUse, firstUsePath, recordFirstUse } from './first-use.ts';
import { checkedCopy, hubOrigin, valueBudget, writeVerifiedCopy, ZooFileError } from './verify.ts';
import type { NetworkName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';
import { approxBytes, findZooEntry, ZOO } from './zoo.ts';

export interface ZooPaths {
  dir: string;
  /** The hub's file as downloaded (its sha256 is the hub's). */
  hubFile: string;
  /** The file the studio loads. */
  weights: string;
}

export function zooPaths(entry: ZooEntry<NetworkName>, workspace: string): ZooPaths {
  const dir = join(workspace, 'models', ...entry.repo.split('/'), encodeURIComponent(entry.revision));
  const hubFile = join(dir, ...entry.file.split('/'));
  return { dir, hubFile, weights: hubFile.replace(/(\.safetensors)?$/, '.studio.safetensors') };
}

export interface ZooListing<V extends NetworkName = NetworkName> {
  name: string;
  repo: string;
  revision: string;
  variant: V;
  source: string;
  /** Bytes on disk when cached, otherwise the approximate download size. */
  size: number;
  sizeApprox: boolean;
  cached: boolean;
  channels: 'RGB' | 'BGR';
  top1: number | null;
  /** A segmenter's VOC mIoU or a detector's COCO mAP, as its source reports it. */
  score: { metric: 'mIoU' | 'mAP'; value: number } | null;
}

function isRegularFile(path: string): boolean {
  try { return lstatSync(path).isFile(); } catch { return false; }
}

export function isCached(entry: ZooEntry<NetworkName>, workspace: string): boolean {
  const p = zooPaths(entry, workspace);
  return cachedSha256(p.hubFile) !== null && isRegularFile(p.weights);
}

/** The rows (default: the whole zoo) with their cache state in `workspace`. */
export function listZoo<V extends NetworkName>(workspace: string, rows: readonly ZooEntry<V>[] = ZOO as readonly ZooEntry<V>[]): ZooListing<V>[] {
  return rows.map((e) => {
    const p = zooPaths(e, workspace);
    const cached = isCached(e, workspace);
    return {
      name: e.name, repo: e.repo, revision: e.revision, variant: e.variant, source: e.source,
      size: cached ? statSync(p.hubFile).size : approxBytes(e), sizeApprox: !cached, cached, channels: e.channels, top1: e.top1 ?? null, score: e.score ?? null,
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

export function zooEntryOrThrow(name: string): ZooEntry<NetworkName> {
  const e = findZooEntry(name);
  if (!e) throw new ZooError(`${JSON.stringify(name).slice(0, 100)} is not a zoo model (one of: ${ZOO.map((z) => z.name).join(', ')}, or their repo ids)`);
  return e;
}

/** The most bytes a zoo file may have: each is a few MB to a few tens, and four times that is generous and bounded. */
function fileCap(entry: ZooEntry<NetworkName>): number {
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

/** Where ml-cvnets' published models are (its docs' links); CVNETS_MODELS_URL names a mirror. */
export const CVNETS_MODELS_URL = 'https://docs-assets.developer.apple.com/ml-research/models/cvnets';

function cvnetsModelsUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.CVNETS_MODELS_URL || CVNETS_MODELS_URL).replace(/\/+$/, '');
}

/** Failures that mean the Hub could not be used at all, after which the person needs another way in. */
const HUB_UNAVAILABLE: ReadonlySet<DownloadFailure> = new Set(['unreachable', 'proxy', 'refused', 'not_found']);

/** What a person can do without the Hub. */
export function withoutTheHub(entry: ZooEntry<NetworkName>): string {
  return `Without the ${entry.cvnets ? 'network' : 'Hub'}: import a local copy (mobilevit-studio models import <file> --as ${entry.name}), `
    + `set ${entry.cvnets ? 'CVNETS_MODELS_URL to a mirror of ml-cvnets\' models' : 'HF_ENDPOINT to a mirror of huggingface.co'}, or train from scratch`;
}

/** One error for a failed pull or import: what happened, and for an unreachable Hub, what to do instead. */
function explained(entry: ZooEntry<NetworkName>, e: unknown): unknown {
  if (e instanceof DownloadError && HUB_UNAVAILABLE.has(e.failure)) return new DownloadError(`${e.message}. ${withoutTheHub(entry)}`, e.failure);
  if (e instanceof ZooFileError) return new ZooError(`${e.message}; nothing was cached`);
  if (e instanceof CacheDirError) return new ZooError(e.message);
  return e;
}

function pullResult(entry: ZooEntry<NetworkName>, p: ZooPaths, sha256: string, downloaded: boolean, notes: string[]): PullResult {
  if (entry.channels === 'BGR') notes.push(`${entry.repo} was trained on BGR input: its stem's input channels are swapped so that it takes RGB like every studio model`);
  if (entry.normalize) notes.push(`${entry.repo} was trained on ImageNet mean/std input: the normalisation is folded into its stem`);
  return { name: entry.name, repo: entry.repo, revision: entry.revision, path: p.hubFile, sha256, size: statSync(p.hubFile).size, weights: p.weights, downloaded, notes };
}

/**
 * Makes `name` available in the workspace's cache; downloads only what is missing or damaged. A download is
 * published only once it has passed every check (size, sha256, header, the architecture's keys and shapes).
 */
export async function pullZoo(name: string | ZooEntry<NetworkName>, workspace: string, opts: DownloadOptions = {}): Promise<PullResult> {
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
  let r: DownloadResult;
  let trusted;
  try {
    trusted = entry.sha256 ? null : firstUse(workspace, entry);
    const expect = entry.sha256 ? { sha256: entry.sha256, by: 'its publisher states' }
      : trusted ? { sha256: trusted.sha256, by: `its first download (${trusted.recorded}, recorded in ${firstUsePath(workspace)}) had` } : undefined;
    ensureCacheDir(workspace, dirname(p.hubFile));
    const fetchOpts: DownloadOptions = {
      ...opts, maxBytes: opts.maxBytes ?? fileCap(entry), expect,
      verify: (part, sha256) => writeVerifiedCopy(entry, part, sha256, p.weights),
    };
    r = entry.cvnets // the Hub's token is for the Hub: none goes to a publisher's site, even one on the same host
      ? await downloadFile(new URL(`${cvnetsModelsUrl(opts.env)}/${entry.file}`), hubOrigin(entry), p.hubFile, { ...fetchOpts, token: '' })
      : await downloadHubFile(entry.repo, entry.revision, entry.file, p.hubFile, fetchOpts);
  } catch (e) {
    throw explained(entry, e);
  }
  if (r.verifiedBy === 'none' && !entry.sha256) {
    if (trusted) notes.push(`${hubOrigin(entry)} has no published checksum: it matched the sha256 recorded at its first download`);
    else {
      recordFirstUse(workspace, entry, r.sha256, r.size);
      notes.push(`${hubOrigin(entry)} has no published checksum: the sha256 of this first download (${r.sha256}) is recorded in ${firstUsePath(workspace)}, and every later download must match it`);
    }
  }
  if (entry.commit && r.commit && !r.commit.startsWith(entry.commit)) {
    notes.push(`${entry.repo}@${entry.revision} is now at commit ${r.commit.slice(0, 12)}, not the ${entry.commit} the studio was written against`);
  }
  return pullResult(entry, p, r.sha256, true, notes);
}

/** The tensors of a safetensors file or PyTorch checkpoint, by its content (a safetensors tensor is decoded on first use only). */
function tensorsOf(file: string, buf: Buffer): TensorMap {
  return looksLikeZip(buf) || isLegacyTorch(buf) ? parseTorchCheckpoint(buf, file) : parseSafetensors(buf, file).tensors;
}

/**
 * The zoo model a file is, from its tensors' names and shapes alone: its key names (timm's, transformers' or
 * ml-cvnets') and its number of values, which falls between the parameters and the value budget of exactly one
 * of `among` of that naming.
 */
function recognise(file: string, buf: Buffer, among: readonly ZooEntry<NetworkName>[]): ZooEntry<NetworkName> {
  let candidates: ZooEntry<NetworkName>[] = [];
  try {
    const tensors = tensorsOf(file, buf);
    const values = [...tensors.values()].reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0);
    const keys = isHuggingFace(tensors) ? 'huggingface' : isCvnets(tensors) ? 'ml-cvnets' : 'timm';
    candidates = among.filter((e) => e.keys === keys && values >= e.params && values <= valueBudget(e));
  } catch (e) {
    throw new ZooError((e as Error).message);
  }
  if (candidates.length === 1) return candidates[0];
  throw new ZooError(`${file}: cannot tell which zoo model this is by its key names and size; name it with --as (one of ${among.map((e) => e.name).join(', ')})`);
}

/**
 * Puts a local file (safetensors, or a PyTorch checkpoint read without running it) into the cache as zoo model
 * `name` (recognised among `among` from the file when not given), checked as a download is (size, the
 * architecture's keys and shapes) but against no checksum; replaces what was cached under it only once it has
 * passed (until its .sha256 is rewritten, the old one no longer matches the copy: damage, pulled again). The
 * file is cached under the row's file name, whatever the local one is called: a .pt imported for a
 * safetensors row is still read by its content.
 */
export async function importZoo(file: string, name: string | ZooEntry<NetworkName> | undefined, workspace: string, among: readonly ZooEntry<NetworkName>[] = ZOO): Promise<PullResult> {
  const named = typeof name === 'string' ? zooEntryOrThrow(name) : name;
  let buf: Buffer;
  try {
    buf = readRegularFile(file, { maxBytes: named ? fileCap(named) : Math.max(...among.map(fileCap)), what: 'weights file' });
  } catch (e) {
    throw e instanceof FileReadError ? new ZooError(e.message) : e;
  }
  const entry = named ?? recognise(file, buf, among);
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
