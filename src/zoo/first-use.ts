// Trust on first use, for zoo files whose publisher states no checksum (ml-cvnets' detectors on Apple's site):
// the sha256 of a file's first complete, checked download is recorded in the workspace's cache
// (<workspace>/models/first-use.json, one entry per file) and every later download of it, after the cache was
// cleared or found damaged, must have exactly that sha256. Removing the entry trusts the next download afresh.
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { FileReadError, readRegularText } from '../util/read-file.ts';
import type { NetworkName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';
import { ensureCacheDir } from './cache-dir.ts';
import { hubOrigin } from './verify.ts';

export interface FirstUse {
  sha256: string;
  size: number;
  /** When it was recorded (ISO 8601). */
  recorded: string;
}

type Records = Record<string, FirstUse>;

export function firstUsePath(workspace: string): string {
  return join(workspace, 'models', 'first-use.json');
}

/** The records, an empty set when there is no file yet; a file that is not the studio's record is an error naming it. */
function readRecords(workspace: string): Records {
  const path = firstUsePath(workspace);
  let text: string;
  try {
    text = readRegularText(path, { maxBytes: 1024 * 1024, what: 'first-use checksum record' });
  } catch (e) {
    if (e instanceof FileReadError && e.code === 'not_found') return {};
    throw e;
  }
  let v: unknown;
  try { v = JSON.parse(text); } catch { v = null; }
  const valid = (r: unknown): r is FirstUse => typeof r === 'object' && r !== null
    && /^[0-9a-f]{64}$/.test(String((r as FirstUse).sha256)) && Number.isSafeInteger((r as FirstUse).size);
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every(valid)) {
    throw new Error(`${path} is not the studio's record of first downloads (an object of {sha256, size, recorded}): remove it to trust the next downloads afresh`);
  }
  return v as Records;
}

/** The sha256 recorded at `entry`'s first download, or null when it was never downloaded into this workspace. */
export function firstUse(workspace: string, entry: ZooEntry<NetworkName>): FirstUse | null {
  const records = readRecords(workspace);
  return Object.hasOwn(records, hubOrigin(entry)) ? records[hubOrigin(entry)] : null;
}

/** Records `entry`'s first download (written atomically beside the cached models). */
export function recordFirstUse(workspace: string, entry: ZooEntry<NetworkName>, sha256: string, size: number): FirstUse {
  const records = readRecords(workspace);
  const record = { sha256, size, recorded: new Date().toISOString() };
  ensureCacheDir(workspace, join(workspace, 'models'));
  writeFileAtomic(firstUsePath(workspace), `${JSON.stringify({ ...records, [hubOrigin(entry)]: record }, null, 2)}\n`);
  return record;
}
