// The model zoo as the Train view shows it: the list with cached marks, one download at a time with its
// progress (the studio's 'progress' events for models.pull) and cancel.
import type { ZooModel, ZooPullResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

class Zoo {
  models = $state.raw<ZooModel[]>([]);
  loaded = $state(false);
  /** The model being downloaded (its name), if any. */
  pulling = $state<string | null>(null);
  problem = $state.raw<Problem | null>(null);

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
      this.problem = toProblem(e, `downloading ${name}`);
      return null;
    } finally {
      this.pulling = null;
      studio.clearProgress('models.pull');
      void this.refresh();
    }
  }

  async cancel(): Promise<void> {
    if (this.pulling) await studio.request('models.cancel', { name: this.pulling });
  }
}

export const zoo = new Zoo();
