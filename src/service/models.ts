// The model zoo as the service offers it: the list with cached marks, pulls with progress and cancel, imports
// of a local file, and zoo names accepted wherever a request names weights (train.start, ModelRef).
import { existsSync } from 'node:fs';
import { StudioError, type ZooModel, type ZooPullResult } from '../protocol/contract.ts';
import { DownloadError, formatTimeLeft } from '../zoo/download.ts';
import { importZoo, listZoo, pullZoo, ZooError } from '../zoo/store.ts';
import { findZooEntry, isClassifierRow, ZOO } from '../zoo/zoo.ts';

/** A pull's or import's failure as the window shows it: the zoo's one-line message (what happened, what to do). */
function failed(e: unknown): never {
  if (e instanceof DownloadError || e instanceof ZooError) throw new StudioError('failed', e.message);
  throw e;
}

const rate = (bps: number, eta: number | null) =>
  `${(bps / 1e6).toFixed(1)} MB/s${eta !== null ? `, ${formatTimeLeft(eta)} left` : ''}`;

/** The window starts classification runs from the zoo: its rows are the classifiers' (the CLI pulls the rest). */
const WINDOW_ROWS = ZOO.filter(isClassifierRow);

function classifierRow(name: string) {
  const entry = findZooEntry(name);
  if (!entry) throw new StudioError('not_found', `${JSON.stringify(name).slice(0, 100)} is not a zoo model (models.list names them)`);
  if (!isClassifierRow(entry)) throw new StudioError('not_found', `${entry.name} is a ${entry.labels} model, not a classifier the window starts from: pull it with mobilevit-studio models pull ${entry.name}`);
  return entry;
}

export class ZooService {
  /** Pulls in flight, by repo: a second request for the same model waits on the first. */
  private readonly pulls = new Map<string, { control: AbortController; done: Promise<ZooPullResult> }>();

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  list(workspace: string): { models: ZooModel[]; dir: string } {
    return { models: listZoo(workspace, WINDOW_ROWS), dir: `${workspace}/models` };
  }

  pull(name: string, workspace: string, progress?: (done: number, total: number, label?: string) => void): Promise<ZooPullResult> {
    const entry = classifierRow(name);
    const running = this.pulls.get(entry.repo);
    if (running) return running.done;
    const control = new AbortController();
    const done = pullZoo(entry, workspace, {
      env: this.env, signal: control.signal,
      onProgress: (p) => progress?.(p.received, p.total ?? 0, rate(p.bytesPerSec, p.etaSec)),
    }).then((r) => ({ ...r, variant: entry.variant }), failed).finally(() => this.pulls.delete(entry.repo));
    this.pulls.set(entry.repo, { control, done });
    return done;
  }

  /**
   * Puts the local `file` into the cache as zoo model `name`, or the one it is recognised as (refused while that
   * model is being pulled).
   */
  async import(file: string, name: string | undefined, workspace: string): Promise<ZooPullResult> {
    const entry = name === undefined ? undefined : classifierRow(name);
    if (entry && this.pulls.has(entry.repo)) throw new StudioError('conflict', `${entry.name} is being pulled; import it when the pull has ended`);
    const r = await importZoo(file, entry, workspace, WINDOW_ROWS).catch(failed);
    return { ...r, variant: classifierRow(r.name).variant };
  }

  cancel(name: string): { cancelled: boolean } {
    const entry = findZooEntry(name);
    const running = entry && this.pulls.get(entry.repo);
    if (!running) return { cancelled: false };
    running.control.abort();
    return { cancelled: true };
  }

  /**
   * `weights` as a request gave it: a zoo name (not an existing file) becomes the cached file, pulled first when
   * missing, with the variant it needs; anything else is returned unchanged.
   */
  async resolve(weights: string | undefined, workspace: string): Promise<{ weights: string; variant: ZooPullResult['variant'] } | null> {
    if (weights === undefined || existsSync(weights) || !findZooEntry(weights)) return null;
    const r = await this.pull(weights, workspace);
    return { weights: r.weights, variant: r.variant };
  }
}
