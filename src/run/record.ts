// A run's folder: runs/<id>/ in the workspace, holding
//   run.json        settings, dataset summary, backend, versions, status (rewritten atomically)
//   metrics.jsonl   the event stream, one TrainEvent per line, append-only
//   labels.txt      class names, one per line, in label order
//   evaluations/    the full evaluation of each epoch (epoch-001.json, …)
//   checkpoints/    last/best manifests and their safetensors (see checkpoint.ts)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RunId, TrainSettings, type RunStatus, type RunSummary, type ScanSummary, type TrainSettingsInput, describeZodError } from '../protocol/contract.ts';
import { writeFileAtomic } from '../util/atomic.ts';

export const FILES = {
  run: 'run.json',
  metrics: 'metrics.jsonl',
  labels: 'labels.txt',
  checkpoints: 'checkpoints',
  evaluations: 'evaluations',
} as const;

const APP_DIR = 'mobilevit-studio';

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
  best: { epoch: number; top1: number; loss: number } | null;
  last: { epoch: number; trainLoss: number; valLoss: number | null; valTop1: number | null } | null;
  error: string | null;
  /** The process training this run while status is 'running' (null until one starts); a dead pid means it was killed. */
  pid: number | null;
}

function studioVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
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
    versions: { studio: studioVersion(), node: process.versions.node, tfjs: tf.version_core },
    epochsDone: 0, best: null, last: null, error: null, pid: null,
  };
  writeFileAtomic(join(dir, FILES.run), JSON.stringify(record, null, 2));
  return { id, dir };
}

export function readRun(dir: string): RunRecord {
  const path = join(dir, FILES.run);
  if (!existsSync(path)) throw new Error(`${dir} is not a run folder (no ${FILES.run})`);
  let raw: RunRecord;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (raw?.format !== 1) throw new Error(`${path}: not a run record this version understands`);
  return { ...raw, settings: parseSettings(raw.settings, `${path} settings`) };
}

export function updateRun(dir: string, patch: Partial<Omit<RunRecord, 'format' | 'id' | 'createdAt'>>): RunRecord {
  const next: RunRecord = { ...readRun(dir), ...patch, updatedAt: new Date().toISOString() };
  writeFileAtomic(join(dir, FILES.run), JSON.stringify(next, null, 2));
  return next;
}

/** For a supervisor whose engine died (crash, out of memory): records why, unless the run already ended. */
export function markRunFailed(dir: string, reason: string): RunRecord {
  const run = readRun(dir);
  if (run.status !== 'running') return run;
  return updateRun(dir, { status: 'failed', error: reason, pid: null });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The run as the studio lists it. A run still marked 'running' whose process is gone was killed
 * without a word (kill -9, power cut, out-of-memory killer): it is reported failed, and resumable
 * from its last checkpoint.
 */
export function runSummary(dir: string): RunSummary {
  const run = readRun(dir);
  let { status, error } = run;
  if (status === 'running' && run.pid !== null && run.pid !== process.pid && !alive(run.pid)) {
    status = 'failed';
    error = `the training process (pid ${run.pid}) ended without a word (killed or crashed)`;
  }
  return {
    id: run.id, name: run.name, status, createdAt: run.createdAt, updatedAt: run.updatedAt, settings: run.settings,
    classes: run.classes, epochsDone: run.epochsDone, best: run.best, last: run.last, error,
    resumable: status !== 'finished' && status !== 'running' && existsSync(join(dir, FILES.checkpoints, 'last.json')),
  };
}
