// Training in the engine: one run at a time, driven by src/train/loop.ts, which appends every event
// to the run's metrics.jsonl and hands it here to forward to the service. train.start returns as
// soon as the loop is under way; the events say how it goes, and a terminal one says it is over.
import { StudioError, isTerminalEvent } from '../protocol/contract.ts';
import type { EngineParams, EngineResult } from '../protocol/engine.ts';
import { readRun, recordFailure } from '../run/index.ts';
import { runTraining } from '../train/loop.ts';
import type { ComputeDevice } from '../device/device.ts';
import type { EngineDevices } from './devices.ts';
import type { HandlerContext } from './dispatch.ts';
import { serial } from './queue.ts';
import { heapFault } from './fault.ts';
import { fillHeapAfterStep } from './heap-test-hook.ts';

interface Training {
  controller: AbortController;
  /** Its terminal event is out: the service may already ask for the next run, which waits for `done`. */
  ended: boolean;
  done: Promise<void>;
}
const running = new Map<string, Training>();

export async function startTraining(p: EngineParams<'train.start'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'train.start'>> {
  for (const [id, t] of running) {
    if (!t.ended) throw new StudioError('conflict', `the engine is already training run ${id}`);
    await t.done; // the loop is releasing its run: a moment
  }
  const training: Training = { controller: new AbortController(), ended: false, done: Promise.resolve() };
  running.set(p.runId, training);
  const { controller } = training;
  training.done = deviceFor(devices, p, ctx, controller.signal).then((device) => runTraining(p.runDir, {
    device,
    signal: controller.signal,
    afterStep: fillHeapAfterStep(),
    onPrepare: (task, done, total) => ctx.trainPrepare(p.runId, task, done, total),
    onEvent: (event) => {
      if (isTerminalEvent(event)) training.ended = true;
      ctx.trainEvent(p.runId, event);
    },
  }))
    .then((outcome) => {
      // The run is recorded failed (resumable from its last checkpoint); an engine whose heap aborted is replaced.
      const fault = outcome.status === 'failed' ? heapFault(outcome.error) : null;
      if (fault) ctx.fault(fault);
    }, (e: unknown) => {
      // The loop reports its own failures as events; this is for one that escaped it (or a run that
      // another process holds the lock of, which the record then leaves as it is).
      const error = `training stopped unexpectedly: ${(e as Error).message ?? String(e)}`;
      let event = null;
      try {
        event = recordFailure(p.runDir, error);
      } finally {
        ctx.trainEvent(p.runId, event ?? { type: 'failed', time: Date.now(), error });
      }
      const fault = heapFault(e);
      if (fault) ctx.fault(fault);
    })
    .finally(() => running.delete(p.runId))
    .then(() => undefined);
  return { runId: p.runId };
}

/**
 * The engine's device, chosen for the run's variant and size when the backend is 'auto' (a measurement,
 * under the inspection queue so that nothing else computes meanwhile; stopping the run cancels it).
 * A quick run's backbone features are computed on it too (its classifier's few multiply-adds in this process).
 */
async function deviceFor(devices: EngineDevices, p: EngineParams<'train.start'>, ctx: HandlerContext, signal: AbortSignal): Promise<ComputeDevice> {
  let settings;
  try {
    settings = readRun(p.runDir).settings;
  } catch {
    return devices.current(); // the loop reports the unreadable run itself
  }
  const spec = { variant: settings.variant, imageSize: settings.imageSize };
  // Segmentation and detection are not measured (the measurement times a classifier's steps): they train on the open device.
  if (settings.task !== 'classification' || !devices.choosesFor(spec)) return devices.current();
  return serial(() => devices.forTraining(spec, {
    signal,
    onProgress: (done, total) => ctx.trainPrepare(p.runId, 'devices', done, total),
    onChange: (report) => ctx.deviceChanged(report),
  }), signal).catch(() => devices.current()); // stopped while waiting for the queue: the loop stops too
}

/** Whether a run is training (measuring the devices meanwhile would time the run, not them). */
export function trainingActive(): boolean {
  return [...running.values()].some((t) => !t.ended);
}

/** Stop and pause both end the loop after the current step with a checkpoint; pause marks it paused. */
export async function controlTraining(p: EngineParams<'train.control'>): Promise<EngineResult<'train.control'>> {
  const controller = running.get(p.runId)?.controller;
  if (!controller || controller.signal.aborted) return { runId: p.runId, accepted: false };
  controller.abort(p.action);
  return { runId: p.runId, accepted: true };
}
