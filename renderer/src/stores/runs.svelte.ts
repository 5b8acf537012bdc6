// Every run in the workspace, the ones picked for overlaying curves (with their replayed curves), and
// rename / delete. The list refreshes itself when a run changes state.
import type { ExportResult, Params, RunDetail, RunSummary } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { RunSeries } from '../lib/series.ts';
import type { SortKey } from '../lib/run-table.ts';
import { studio } from './studio.svelte.ts';

export interface Overlay {
  run: RunSummary;
  series: RunSeries;
}

class Runs {
  list = $state.raw<RunSummary[]>([]);
  loaded = $state(false);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);
  /** Runs whose curves are overlaid, in the order they were picked. */
  selected = $state<string[]>([]);
  overlays = $state.raw<Overlay[]>([]);
  /** The table's order and filter (lib/run-table.ts): newest first until a header is clicked. */
  sort = $state<SortKey>({ column: 'created', descending: true });
  filter = $state('');
  private details = new Map<string, RunDetail>();

  init(): void {
    studio.on('run.status', () => void this.refresh());
  }

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      const { runs } = await studio.request('runs.list', {});
      this.list = [...runs].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      this.loaded = true;
      this.problem = null;
      this.selected = this.selected.filter((id) => runs.some((r) => r.id === id));
      if (this.selected.length === 0 && this.list.length > 0) this.selected = [this.list[0].id];
      this.details.clear(); // a run that trained since last time has more events
      await this.loadOverlays();
    } catch (e) {
      this.problem = toProblem(e, 'Could not list the runs');
    } finally {
      this.loading = false;
    }
  }

  async toggle(id: string): Promise<void> {
    this.selected = this.selected.includes(id) ? this.selected.filter((s) => s !== id) : [...this.selected, id];
    await this.loadOverlays();
  }

  async rename(id: string, name: string): Promise<boolean> {
    try {
      const run = await studio.request('runs.rename', { runId: id, name });
      this.list = this.list.map((r) => (r.id === id ? run : r));
      this.overlays = this.overlays.map((o) => (o.run.id === id ? { ...o, run } : o));
      return true;
    } catch (e) {
      this.problem = toProblem(e, 'Could not rename the run');
      return false;
    }
  }

  async annotate(id: string, a: { tags?: string[]; notes?: string }): Promise<boolean> {
    try {
      const run = await studio.request('runs.annotate', { runId: id, ...a });
      this.list = this.list.map((r) => (r.id === id ? run : r));
      this.problem = null;
      return true;
    } catch (e) {
      this.problem = toProblem(e, 'Could not save the tags and notes');
      return false;
    }
  }

  /** Writes an export of a run (ONNX, safetensors, timm recipe) into its exports/ folder; throws with the reason. */
  async exportRun(params: Params<'runs.export'>): Promise<ExportResult> {
    return studio.request('runs.export', params);
  }

  async remove(id: string): Promise<void> {
    try {
      await studio.request('runs.delete', { runId: id });
      this.details.delete(id);
      this.list = this.list.filter((r) => r.id !== id);
      this.selected = this.selected.filter((s) => s !== id);
      this.overlays = this.overlays.filter((o) => o.run.id !== id);
    } catch (e) {
      this.problem = toProblem(e, 'Could not delete the run');
    }
  }

  /** A run's record and events (kept until the list refreshes); null with the problem shown when it cannot be read. */
  async detail(id: string): Promise<RunDetail | null> {
    try {
      let d = this.details.get(id);
      if (!d) {
        d = await studio.request('runs.get', { runId: id });
        this.details.set(id, d);
      }
      return d;
    } catch (e) {
      this.problem = toProblem(e, 'Could not load the run’s metrics');
      return null;
    }
  }

  private async loadOverlays(): Promise<void> {
    const ids = [...this.selected];
    const overlays: Overlay[] = [];
    for (const id of ids) {
      const d = await this.detail(id);
      if (!d) return;
      overlays.push({ run: d.run, series: new RunSeries(d.events) });
    }
    // A newer toggle may have finished first; keep only the latest selection's answer.
    if (ids.join() === this.selected.join()) this.overlays = overlays;
  }
}

export const runs = new Runs();
