// --weights as the CLI takes it: a file, a run folder (its best checkpoint), or a zoo name / repo id pulled
// (with a progress bar) into the workspace's cache. One helper used by every command that loads weights.
import type { ParsedFlags } from './args.ts';
import type { CliIO } from './command.ts';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { positiveInt, UsageError } from './args.ts';
import { CheckpointStore, FILES, defaultWorkspace, readRun } from '../run/index.ts';
import { formatTimeLeft, type DownloadProgress } from '../zoo/download.ts';
import { resolveWeights, type ResolvedWeights } from '../zoo/resolve.ts';
import { findZooEntry } from '../zoo/zoo.ts';
import type { ModelSource } from '../run/model.ts';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** One line: a bar, bytes, rate and time left. */
export function formatDownload(what: string, p: DownloadProgress, width = 24): string {
  const frac = p.total ? Math.min(1, p.received / p.total) : 0;
  const bar = p.total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)} %` : '[downloading]';
  return `${what} ${bar} ${mb(p.received)}${p.total ? ` / ${mb(p.total)}` : ''}  ${mb(p.bytesPerSec)}/s  ${formatTimeLeft(p.etaSec)} left${p.resumes ? `  (resumed ${p.resumes}×)` : ''}`;
}

/** A progress reporter on stderr: a redrawn bar on a terminal, a line every 25 % otherwise. */
export function downloadProgress(what: string, io: CliIO, tty = process.stderr.isTTY === true): { onProgress: (p: DownloadProgress) => void; done: () => void } {
  let shown = -1;
  let drew = false;
  return {
    onProgress(p) {
      if (tty) { process.stderr.write(`\r\x1b[2K${formatDownload(what, p).slice(0, (process.stderr.columns || 120) - 1)}`); drew = true; return; }
      const q = p.total ? Math.floor((p.received / p.total) * 4) : 0;
      if (q > shown) { shown = q; io.err(formatDownload(what, p)); }
    },
    done() { if (drew) process.stderr.write('\r\x1b[2K'); },
  };
}

export function workspaceOf(flags: ParsedFlags): string {
  return (flags.workspace as string | undefined) ?? defaultWorkspace();
}

/** The --run flag of every command that takes --weights. */
export const RUN_FLAG = { type: 'string', description: "a training run folder: its best (else last) checkpoint, classes and recorded recipe (image size, evaluation crop)" } as const;

const isRunDir = (p: string): boolean => existsSync(join(p, FILES.run)) && statSync(p).isDirectory();

/**
 * The model --run or --weights names, for the commands that run it (predict, eval, attention, receptive-field,
 * forward, export, profile): a run folder given to --weights counts as --run, so its recorded recipe applies; a zoo
 * name is pulled when not cached (src/run/model.ts loadModel then finds its row's preprocessing).
 */
export async function modelSourceFlags(flags: ParsedFlags, io: CliIO): Promise<ModelSource> {
  if (flags.run !== undefined && flags.weights !== undefined) throw new UsageError('give --run DIR or --weights FILE, not both');
  if (typeof flags.weights === 'string' && isRunDir(flags.weights)) {
    flags.run = flags.weights;
    delete flags.weights;
  }
  if (typeof flags.run === 'string') {
    if (!isRunDir(flags.run)) throw new Error(`--run ${flags.run} is not a run folder (no ${FILES.run} in it)`);
    if (flags.variant === undefined) flags.variant = readRun(flags.run).settings.variant;
  } else await resolveWeightsFlag(flags, io);
  return {
    run: flags.run as string | undefined, weights: flags.weights as string | undefined, variant: flags.variant as string | undefined,
    numClasses: positiveInt(flags, 'num-classes'),
  };
}

/**
 * Resolves --weights in place: a zoo name becomes the cached file's path (pulled first when missing) and
 * supplies --variant when none was given. Returns the resolution, or null without --weights.
 */
export async function resolveWeightsFlag(flags: ParsedFlags, io: CliIO, signal?: AbortSignal): Promise<ResolvedWeights | null> {
  const spec = flags.weights;
  if (typeof spec !== 'string') return null;
  // A run folder: its best (else last) checkpoint, e.g. a full fine-tune continuing a quick run.
  if (isRunDir(spec)) {
    const store = new CheckpointStore(join(spec, FILES.checkpoints));
    const path = store.weightsPath('best') ?? store.weightsPath('last');
    if (!path) throw new UsageError(`run ${spec} has no checkpoint yet`);
    if (flags.variant === undefined) flags.variant = readRun(spec).settings.variant;
    io.err(`weights: ${path}`);
    flags.weights = path;
    return { path, entry: null, pulled: null };
  }
  // Not a zoo name: a path, left to the loaders (which say when it does not exist).
  if (!findZooEntry(spec)) return null;
  const progress = downloadProgress(spec, io);
  let r: ResolvedWeights;
  try {
    r = await resolveWeights(spec, workspaceOf(flags), { onProgress: progress.onProgress, signal });
  } finally {
    progress.done();
  }
  if (r.entry) {
    if (r.pulled?.downloaded) io.err(`pulled ${r.entry.repo}@${r.entry.revision} (${mb(r.pulled.size)}, sha256 ${r.pulled.sha256.slice(0, 12)}…)`);
    for (const n of r.pulled?.notes ?? []) io.err(n);
    if (flags.variant === undefined) flags.variant = r.entry.variant;
    flags.weights = r.path;
  }
  return r;
}
