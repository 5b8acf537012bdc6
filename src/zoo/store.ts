// The zoo's cache in the workspace: <workspace>/models/<repo>/<revision>/<file> (the hub's bytes, with
// <file>.sha256 beside them) and <file>.studio.safetensors (converted for the studio). A cached model needs
// no network. Pulling = download (src/zoo/download.ts) + convert (src/zoo/convert.ts).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cachedSha256, downloadHubFile, type DownloadOptions } from './download.ts';
import { convertZooFile } from './convert.ts';
import type { VariantName } from '../model/types.ts';
import { approxBytes, findZooEntry, ZOO, type ZooEntry } from './zoo.ts';

export interface ZooPaths {
  dir: string;
  /** The hub's file as downloaded (its sha256 is the hub's). */
  hubFile: string;
  /** The file the studio loads. */
  weights: string;
}

export function zooPaths(entry: ZooEntry, workspace: string): ZooPaths {
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

export function isCached(entry: ZooEntry, workspace: string): boolean {
  const p = zooPaths(entry, workspace);
  return cachedSha256(p.hubFile) !== null && existsSync(p.weights);
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

export function zooEntryOrThrow(name: string): ZooEntry {
  const e = findZooEntry(name);
  if (!e) throw new ZooError(`${JSON.stringify(name).slice(0, 100)} is not a zoo model (one of: ${ZOO.map((z) => z.name).join(', ')}, or their repo ids)`);
  return e;
}

/** Makes `name` available in the workspace's cache; downloads only what is missing. */
export async function pullZoo(name: string | ZooEntry, workspace: string, opts: DownloadOptions = {}): Promise<PullResult> {
  const entry = typeof name === 'string' ? zooEntryOrThrow(name) : name;
  const p = zooPaths(entry, workspace);
  const notes: string[] = [];
  let sha256 = cachedSha256(p.hubFile);
  let downloaded = false;
  if (sha256 === null) {
    // Each zoo file is a few MB to a few tens: four times the expected size is a generous, bounded cap.
    const r = await downloadHubFile(entry.repo, entry.revision, entry.file, p.hubFile, { ...opts, maxBytes: opts.maxBytes ?? approxBytes(entry) * 4 + 1024 * 1024 });
    sha256 = r.sha256;
    downloaded = true;
    if (r.verifiedBy === 'none') notes.push(`the hub sent no sha256 for ${entry.repo}/${entry.file}: stored unverified (sha256 ${r.sha256})`);
    if (entry.commit && r.commit && !r.commit.startsWith(entry.commit)) {
      notes.push(`${entry.repo}@${entry.revision} is now at commit ${r.commit.slice(0, 12)}, not the ${entry.commit} the studio was written against`);
    }
  }
  if (downloaded || !existsSync(p.weights)) convertZooFile(entry, p.hubFile, sha256, p.weights);
  if (entry.channels === 'BGR') notes.push(`${entry.repo} was trained on BGR input: its stem's input channels are swapped so that it takes RGB like every studio model`);
  if (entry.normalize) notes.push(`${entry.repo} was trained on ImageNet mean/std input: the normalisation is folded into its stem`);
  return { name: entry.name, repo: entry.repo, revision: entry.revision, path: p.hubFile, sha256, size: statSync(p.hubFile).size, weights: p.weights, downloaded, notes };
}
