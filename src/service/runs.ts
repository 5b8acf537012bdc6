// The runs of a workspace as the studio lists them. The run folder format (run.json, metrics.jsonl,
// checkpoints/) belongs to the training code in src/train/run-folder.ts; this only reads it, renames
// and deletes, and replays metrics.jsonl for the curves.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StudioError, type RunDetail, type RunSummary } from '../protocol/contract.ts';
import { FILES, readRun, runSummary, updateRun } from '../train/run-folder.ts';
import { readEvents } from '../train/metrics-log.ts';

export class RunStore {
  constructor(readonly workspace: string) {}

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
  list(): RunSummary[] {
    if (!existsSync(this.root)) return [];
    const runs: RunSummary[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !existsSync(join(this.root, entry.name, FILES.run))) continue;
      try {
        runs.push(runSummary(join(this.root, entry.name)));
      } catch (e) {
        this.warnOnce(entry.name, (e as Error).message);
      }
    }
    return runs.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  summary(runId: string): RunSummary {
    return this.read(runId, runSummary);
  }

  detail(runId: string): RunDetail {
    const dir = this.dirOf(runId);
    const run = this.read(runId, runSummary);
    const record = readRun(dir);
    const log = readEvents(join(dir, FILES.metrics));
    return { run, events: log.events, skippedEvents: log.skipped, dataset: record.dataset, backend: record.backend };
  }

  rename(runId: string, name: string): RunSummary {
    const dir = this.dirOf(runId);
    updateRun(dir, { name });
    return runSummary(dir);
  }

  delete(runId: string): void {
    rmSync(this.dirOf(runId), { recursive: true, force: true });
  }

  private read<T>(runId: string, f: (dir: string) => T): T {
    const dir = this.dirOf(runId);
    try {
      return f(dir);
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
