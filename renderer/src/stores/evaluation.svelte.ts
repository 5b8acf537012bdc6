// The window's one evaluation (eval.run): which run and checkpoint, the last evaluation's result, and whether one is
// running. The Evaluate view chooses and shows it; the Segment and Detect views evaluate their run here and show the
// result when it is their run's, so one evaluation runs at a time with one progress bar.
import type { EvalResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

class Evaluation {
  runId = $state<string | null>(null);
  checkpoint = $state<'best' | 'last'>('best');
  result = $state.raw<EvalResult | null>(null);
  running = $state(false);
  problem = $state.raw<Problem | null>(null);

  async run(): Promise<void> {
    if (!this.runId) return;
    this.running = true;
    this.problem = null;
    try {
      this.result = await studio.request('eval.run', { runId: this.runId, checkpoint: this.checkpoint, maxMisclassified: 48 });
    } catch (e) {
      this.problem = toProblem(e, 'Could not evaluate the run');
    } finally {
      this.running = false;
      studio.clearProgress('eval.run');
    }
  }

  /** The last evaluation's result when it is `runId`'s and of `task` (what the Segment and Detect views show). */
  resultFor<T extends EvalResult['task']>(task: T, runId: string | null): Extract<EvalResult, { task: T }> | null {
    const r = this.result;
    return r?.task === task && r.runId === runId ? (r as Extract<EvalResult, { task: T }>) : null;
  }

  /** Evaluates a run's best checkpoint (the Segment and Detect views' button); the Evaluate view then shows it too. */
  async evaluateBest(runId: string): Promise<void> {
    this.runId = runId;
    this.checkpoint = 'best';
    await this.run();
  }
}

export const evaluation = new Evaluation();
