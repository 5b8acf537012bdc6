// Training in the engine: one run at a time, driven by src/train/loop.ts, which appends every event
// to the run's metrics.jsonl and hands it here to forward to the service. train.start returns as
// soon as the loop is under way; the events say how it goes.
import { StudioError } from '../protocol/contract.ts';
import type { EngineParams, EngineResult } from '../protocol/engine.ts';
import { runTraining } from '../train/loop.ts';
import { appendEvent } from '../train/metrics-log.ts';
import { FILES, markRunFailed } from '../train/run-folder.ts';
import { join } from 'node:path';
import type { HandlerContext } from './dispatch.ts';

const running = new Map<string, AbortController>();

export async function startTraining(p: EngineParams<'train.start'>, ctx: HandlerContext): Promise<EngineResult<'train.start'>> {
  const [busy] = running.keys();
  if (busy) throw new StudioError('conflict', `the engine is already training run ${busy}`);
  const controller = new AbortController();
  running.set(p.runId, controller);
  void runTraining(p.runDir, { signal: controller.signal, onEvent: (event) => ctx.trainEvent(p.runId, event) })
    .then((outcome) => ctx.trainEnded(p.runId, outcome.status, outcome.error))
    .catch((e: unknown) => {
      // The loop reports its own failures as events; this is for one that escaped it.
      const error = `training stopped unexpectedly: ${(e as Error).message ?? String(e)}`;
      const event = { type: 'failed' as const, time: Date.now(), error };
      try {
        markRunFailed(p.runDir, error);
        appendEvent(join(p.runDir, FILES.metrics), event);
      } finally {
        ctx.trainEvent(p.runId, event);
        ctx.trainEnded(p.runId, 'failed', error);
      }
    })
    .finally(() => running.delete(p.runId));
  return { runId: p.runId };
}

/** Stop and pause both end the loop after the current step with a checkpoint; pause marks it paused. */
export async function controlTraining(p: EngineParams<'train.control'>): Promise<EngineResult<'train.control'>> {
  const controller = running.get(p.runId);
  if (!controller || controller.signal.aborted) return { runId: p.runId, accepted: false };
  controller.abort(p.action);
  return { runId: p.runId, accepted: true };
}
