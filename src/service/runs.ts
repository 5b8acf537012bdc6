// The runs of a workspace as the studio lists them: reads through src/run (which owns the folder
// format), renames and deletes under the run's lock, and replays metrics.jsonl for the curves.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StudioError, type RunDetail, type RunSummary } from '../protocol/contract.ts';
import { FILES, RunLockedError, readEvents, readRun, runSummary, updateRun, withRunLock } from '../run/index.ts';

export class RunStore {
  /** `isLive(id)`: the service has handed this run to the engine, which may not hold its lock yet. */
  constructor(readonly workspace: string, private readonly isLive: (runId: string) => boolean = () => false) {}

  get root(): string {
    return join(this.workspace, 'runs');
  }

  /** The folder of an existing run; a not_found error naming it otherwise. */
  dirOf(runId: string): string {
    const dir = join(this.root, runId);
    if (!existsSync(join(dir, FILES.run))) throw new StudioError('not_found', `no run "${runId}" in ${this.root}`);
    return dir;
  }

  /** Newest first. Folders that are not readable runs are left out (and reported on the console once). */
  async list(): Promise<RunSummary[]> {
    if (!existsSync(this.root)) return [];
    const entries = readdirSync(this.root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(this.root, e.name, FILES.run)));
    const runs = await Promise.all(entries.map(async (entry) => {
      try {
        return await this.summarize(entry.name, join(this.root, entry.name));
      } catch (e) {
        this.warnOnce(entry.name, (e as Error).message);
        return null;
      }
    }));
    return runs.filter((r): r is RunSummary => r !== null)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  summary(runId: string): Promise<RunSummary> {
    return this.read(runId, (dir) => this.summarize(runId, dir));
  }

  async detail(runId: string): Promise<RunDetail> {
    const dir = this.dirOf(runId);
    const run = await this.summary(runId);
    const record = readRun(dir);
    const log = readEvents(join(dir, FILES.metrics));
    return { run, events: log.events, skippedEvents: log.skipped, dataset: record.dataset, backend: record.backend };
  }

  /** Refused while the run trains: the trainer rewrites run.json, and a rename must not be lost. */
  rename(runId: string, name: string): Promise<RunSummary> {
    const dir = this.dirOf(runId);
    return this.underLock(runId, dir, 'renaming', async () => {
      updateRun(dir, { name });
      return this.summarize(runId, dir);
    });
  }

  /** Tags and notes, each kept as given when omitted; refused while the run trains, as a rename is. */
  annotate(runId: string, a: { tags?: string[]; notes?: string }): Promise<RunSummary> {
    const dir = this.dirOf(runId);
    return this.underLock(runId, dir, 'annotating', async () => {
      updateRun(dir, {
        ...(a.tags !== undefined ? { tags: [...new Set(a.tags)] } : {}),
        ...(a.notes !== undefined ? { notes: a.notes } : {}),
      });
      return this.summarize(runId, dir);
    });
  }

  /**
   * Refused while the run trains. The folder is first renamed out of the runs list (one atomic step),
   * then removed, so a half-deleted run never shows up as a broken one.
   */
  delete(runId: string): Promise<void> {
    const dir = this.dirOf(runId);
    return this.underLock(runId, dir, 'deleting', () => {
      const doomed = join(this.root, `.deleting-${runId}-${process.pid}`);
      renameSync(dir, doomed);
      rmSync(doomed, { recursive: true, force: true });
    });
  }

  private async underLock<T>(runId: string, dir: string, purpose: string, fn: () => Promise<T> | T): Promise<T> {
    if (this.isLive(runId)) throw new StudioError('conflict', `run ${runId} is training; stop it before ${purpose} it`);
    try {
      return await withRunLock(dir, purpose, fn);
    } catch (e) {
      if (e instanceof RunLockedError) {
        const who = e.holder.pid !== null ? `process ${e.holder.pid}` : 'another process';
        throw new StudioError('conflict', `run ${runId} is in use by ${who} (${e.holder.purpose ?? 'training'}); stop it before ${purpose} it`);
      }
      throw e;
    }
  }

  /** A run handed to the engine but not yet locked by it (the engine is starting) is live, not dead. */
  private summarize(runId: string, dir: string): Promise<RunSummary> {
    return runSummary(dir, { live: this.isLive(runId) });
  }

  private async read<T>(runId: string, f: (dir: string) => Promise<T>): Promise<T> {
    const dir = this.dirOf(runId);
    try {
      return await f(dir);
    } catch (e) {
      throw new StudioError('failed', `run "${runId}" cannot be read: ${(e as Error).message}`);
    }
  }

  private warned = new Set<string>();
  private warnOnce(name: string, message: string): void {
    if (this.warned.has(name)) return;
    this.warned.add(name);
    console.warn(`studio: skipping run folder ${name}: ${message}`);
  }
}
