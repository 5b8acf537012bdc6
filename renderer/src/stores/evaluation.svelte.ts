// The Evaluate view's state: which run and checkpoint, and the last evaluation's result.
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
}

export const evaluation = new Evaluation();
