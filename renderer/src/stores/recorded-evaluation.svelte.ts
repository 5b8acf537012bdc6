// The last evaluation a run's training recorded (its 'epoch' and 'finished' events' validation), for the run a view
// or a row shows: the Evaluate and Detect views show it until the checkpoint is evaluated in the window, the Runs
// table in a row's details. Read again whenever the run shown changes; an answer for a run no longer shown is dropped.
import { lastEvaluation, type EvalMetrics } from '../lib/task-metrics.ts';
import { runs } from './runs.svelte.ts';

export class RecordedEvaluation {
  private read = $state.raw<{ runId: string; metrics: EvalMetrics | null } | null>(null);

  /** `runId` says the run shown (null: none). Made while a component starts: its reading lives as long as the component. */
  constructor(private readonly runId: () => string | null) {
    $effect(() => {
      const id = runId();
      if (!id) return;
      void runs.detail(id).then((d) => {
        if (d && this.runId() === id) this.read = { runId: id, metrics: lastEvaluation(d.events) };
      });
    });
  }

  /** Whether the shown run's events have been read (then `metrics` is what it recorded, null for nothing). */
  get loaded(): boolean {
    const id = this.runId();
    return id != null && this.read?.runId === id;
  }

  /** The shown run's last recorded evaluation: null until its events are read, or when it recorded none. */
  get metrics(): EvalMetrics | null {
    return this.loaded ? this.read!.metrics : null;
  }
}
