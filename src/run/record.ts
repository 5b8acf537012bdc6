// A run's folder: runs/<id>/ in the workspace. src/run owns it whole; every other domain goes through it.
//   run.json        settings, dataset summary, backend, versions, status (rewritten atomically; record.ts)
//   metrics.jsonl   the event stream, one TrainEvent per line, append-only (events.ts)
//   labels.txt      class names, one per line, in label order (artifacts.ts)
//   evaluations/    the full evaluation of each epoch, epoch-001.json, … (artifacts.ts)
//   checkpoints/    last/best manifests and their safetensors (checkpoint.ts)
// Who trains it is not written here: the run lock (lock.ts) says, and it cannot outlive its holder.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { RunId, TrainSettings, type BestEpoch, type RunStatus, type RunSummary, type ScanSummary, type TrainEvent, type TrainSettingsInput, describeZodError } from '../protocol/contract.ts';
import type { ResolvedRecipe } from '../protocol/recipe.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { FileReadError, readRegularFile } from '../util/read-file.ts';
import { TFJS_VERSION, appVersion } from '../util/version.ts';
import { appendEvent } from './events.ts';
import { probeRunLock } from './lock.ts';

export const FILES = {
  run: 'run.json',
  metrics: 'metrics.jsonl',
  labels: 'labels.txt',
  checkpoints: 'checkpoints',
  evaluations: 'evaluations',
} as const;

const APP_DIR = 'mobilevit-studio';
/** run.json holds settings and a dataset summary (skipped files listed): a few MB at most. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;


/**
 * The workspace: $MOBILEVIT_WORKSPACE, else the OS's per-user data folder — $XDG_DATA_HOME or
 * ~/.local/share on Linux, ~/Library/Application Support on macOS, %APPDATA% on Windows.
 */
export function defaultWorkspace(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform, home = homedir()): string {
  if (env.MOBILEVIT_WORKSPACE) return resolve(env.MOBILEVIT_WORKSPACE);
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), APP_DIR);
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', APP_DIR);
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), APP_DIR);
}

export interface RunRecord {
  format: 1;
  id: string;
  name: string;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  settings: TrainSettings;
  classes: string[];
  dataset: ScanSummary | null;
  backend: string | null;
  versions: { studio: string; node: string; tfjs: string };
  epochsDone: number;
  best: BestEpoch | null;
  last: { epoch: number; trainLoss: number; valLoss: number | null; valTop1: number | null } | null;
  error: string | null;
  /** The recipe's 'auto' settings resolved against the dataset when the run first started (src/protocol/recipe.ts); a resume uses it. */
  recipe?: ResolvedRecipe;
  /**
   * The worker count whose passes the run's steps are cut into (src/device/parallel.ts passImages), the device's
   * when the run first started: a resume on any device cuts its batches the same way, so the run stays the same
   * for its seed and this count. Absent in runs recorded before it: the device they resume on.
   */
  passWorkers?: number;
  /** A person's labels and notes on the run (the Runs view); absent until first set. */
  tags?: string[];
  notes?: string;
}

/** e.g. 20250131-142233-mobilevit_xxs-3fa9 (sortable by time, unique by the random tail). */
export function newRunId(variant: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${variant}-${randomBytes(2).toString('hex')}`;
}

export function parseSettings(input: TrainSettingsInput | unknown, source = 'training settings'): TrainSettings {
  const r = TrainSettings.safeParse(input);
  if (!r.success) throw new Error(`${source}: ${describeZodError(r.error)}`);
  return r.data;
}

/**
 * Makes a run folder with its run.json (status 'running', no dataset yet: training fills that in).
 * `runDir` places it exactly; otherwise it goes to <workspace>/runs/<new id>.
 */
export function createRun(input: TrainSettingsInput, opts: { workspace?: string; runDir?: string; name?: string } = {}): { id: string; dir: string } {
  const settings = parseSettings(input);
  const id = opts.runDir ? resolve(opts.runDir).split(/[\\/]/).pop()! : newRunId(settings.variant);
  if (!RunId.safeParse(id).success) throw new Error(`run folder name "${id}" is not a valid run id (letters, digits, . _ - only)`);
  const dir = opts.runDir ? resolve(opts.runDir) : join(opts.workspace ?? defaultWorkspace(), 'runs', id);
  if (existsSync(join(dir, FILES.run))) throw new Error(`${dir} already holds a run (use resume to continue it)`);
  mkdirSync(join(dir, FILES.checkpoints), { recursive: true });
  const now = new Date().toISOString();
  const record: RunRecord = {
    format: 1, id, name: opts.name ?? id, status: 'running', createdAt: now, updatedAt: now, settings,
    classes: [], dataset: null, backend: null,
    versions: { studio: appVersion(), node: process.versions.node, tfjs: TFJS_VERSION },
    epochsDone: 0, best: null, last: null, error: null,
  };
  writeFileAtomic(join(dir, FILES.run), JSON.stringify(record, null, 2));
  return { id, dir };
}

export function readRun(dir: string): RunRecord {
  const path = join(dir, FILES.run);
  if (!existsSync(path)) throw new Error(`${dir} is not a run folder (no ${FILES.run})`);
  let raw: RunRecord;
  try {
    raw = JSON.parse(readRegularFile(path, { maxBytes: MAX_RECORD_BYTES, what: 'run record' }).toString('utf8'));
  } catch (e) {
    // Never the parser's message: it quotes the file, which may not be ours (a link to a secret).
    throw e instanceof FileReadError ? e : new Error(`${path}: not a run record (not valid JSON)`);
  }
  if (raw?.format !== 1) throw new Error(`${path}: not a run record this version understands`);
  return { ...raw, settings: parseSettings(raw.settings, `${path} settings`) };
}

export function updateRun(dir: string, patch: Partial<Omit<RunRecord, 'format' | 'id' | 'createdAt'>>): RunRecord {
  const next: RunRecord = { ...readRun(dir), ...patch, updatedAt: new Date().toISOString() };
  writeFileAtomic(join(dir, FILES.run), JSON.stringify(next, null, 2));
  return next;
}

/**
 * For a supervisor whose trainer died (an engine crash, out of memory): records why in run.json and as
 * the run's terminal 'failed' event, unless the run already ended. Returns that event (to forward), or
 * null when there was nothing to record. The trainer is dead, so its appends cannot interleave.
 */
export function recordFailure(dir: string, reason: string): TrainEvent | null {
  const run = readRun(dir);
  if (run.status !== 'running') return null;
  updateRun(dir, { status: 'failed', error: reason });
  const event: TrainEvent = { type: 'failed', time: Date.now(), error: reason };
  appendEvent(join(dir, FILES.metrics), event);
  return event;
}

/**
 * The run as the studio lists it. A run still marked 'running' that nobody holds the lock of was killed
 * without a word (kill -9, power cut, out-of-memory killer): it is reported failed, and resumable from
 * its last checkpoint. `live`: the caller has just handed the run to a trainer that may not hold the
 * lock yet.
 */
export async function runSummary(dir: string, opts: { live?: boolean } = {}): Promise<RunSummary> {
  const run = readRun(dir);
  let { status, error } = run;
  if (status === 'running' && !opts.live && (await probeRunLock(dir)) === null) {
    status = 'failed';
    error = 'the training process ended without a word (killed or crashed)';
  }
  return {
    id: run.id, name: run.name, status, createdAt: run.createdAt, updatedAt: run.updatedAt, settings: run.settings,
    classes: run.classes, epochsDone: run.epochsDone, best: run.best, last: run.last, error,
    resumable: status !== 'finished' && status !== 'running' && existsSync(join(dir, FILES.checkpoints, 'last.json')),
    tags: run.tags ?? [], notes: run.notes ?? '',
    ...(run.recipe ? { recipe: { settings: run.recipe.settings, explanation: run.recipe.explanation } } : {}),
  };
}
