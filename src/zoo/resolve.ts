// The one resolver for "which weights": a path to a .safetensors file, or a zoo name / repo id (pulled into
// the workspace's cache when missing). Every command and the service go through it.
import { statSync } from 'node:fs';
import type { DownloadOptions } from './download.ts';
import { pullZoo, type PullResult } from './store.ts';
import type { NetworkName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';
import { findZooEntry, ZOO } from './zoo.ts';

export interface ResolvedWeights {
  /** The file to load. */
  path: string;
  /** The zoo entry, when the spec named one. */
  entry: ZooEntry<NetworkName> | null;
  pulled: PullResult | null;
}

function isFile(p: string): boolean {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** A file that exists wins over a zoo name of the same spelling; anything else must name a zoo model. */
export async function resolveWeights(spec: string, workspace: string, opts: DownloadOptions = {}): Promise<ResolvedWeights> {
  if (isFile(spec)) return { path: spec, entry: null, pulled: null };
  const entry = findZooEntry(spec);
  if (!entry) {
    throw new Error(`weights ${JSON.stringify(spec).slice(0, 120)}: no such file, and not a zoo model (${ZOO.map((e) => e.name).join(', ')}, or a repo id such as ${ZOO[0].repo})`);
  }
  const pulled = await pullZoo(entry, workspace, opts);
  return { path: pulled.weights, entry, pulled };
}
