// The model zoo as the Train view shows it: the list with cached marks, one download at a time with its
// progress (the studio's 'progress' events for models.pull) and cancel, and the import of a local file into the
// cache (models.import) for when the Hub cannot be reached.
import type { ZooModel, ZooPullResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

/** What the window offers when a download fails (the studio's message says what happened). */
const WITHOUT_THE_HUB = 'In this window: choose “Import a local file…” under Start from to use a .safetensors copy instead, '
  + 'or choose From scratch.';

class Zoo {
  models = $state.raw<ZooModel[]>([]);
  loaded = $state(false);
  /** The model being downloaded (its name), if any. */
  pulling = $state<string | null>(null);
  /** The local file being imported, if any. */
  importing = $state<string | null>(null);
  problem = $state.raw<Problem | null>(null);
  /** The download the person cancelled: its failure needs no way around the Hub. */
  private cancelled: string | null = null;

  /** The latest progress of the download in flight: bytes done/total and 'x MB/s, m:ss left'. */
  get progress(): { done: number; total: number; label?: string } | null {
    return this.pulling ? (studio.progress['models.pull'] ?? null) : null;
  }

  async refresh(): Promise<void> {
    try {
      this.models = (await studio.request('models.list', {})).models;
      this.loaded = true;
    } catch (e) {
      this.problem = toProblem(e, 'listing the model zoo');
    }
  }

  /** Downloads `name` unless cached; resolves with the file to train from, or null when cancelled or failed. */
  async pull(name: string): Promise<ZooPullResult | null> {
    this.problem = null;
    this.pulling = name;
    try {
      return await studio.request('models.pull', { name });
    } catch (e) {
      const problem = toProblem(e, `downloading ${name}`);
      this.problem = this.cancelled === name ? problem : { ...problem, hint: WITHOUT_THE_HUB };
      return null;
    } finally {
      this.pulling = null;
      this.cancelled = null;
      studio.clearProgress('models.pull');
      void this.refresh();
    }
  }

  /** Copies a local weights file into the cache as the zoo model it is; resolves like pull, or null on failure. */
  async import(file: string): Promise<ZooPullResult | null> {
    this.problem = null;
    this.importing = file;
    try {
      return await studio.request('models.import', { file });
    } catch (e) {
      this.problem = toProblem(e, `importing ${file}`);
      return null;
    } finally {
      this.importing = null;
      void this.refresh();
    }
  }

  async cancel(): Promise<void> {
    if (!this.pulling) return;
    this.cancelled = this.pulling;
    await studio.request('models.cancel', { name: this.pulling });
  }
}

export const zoo = new Zoo();
