// Every engine method and the function that does it.
import type { Handlers } from './dispatch.ts';
import { StudioError } from '../protocol/contract.ts';
import type { EngineDevices } from './devices.ts';
import { serial } from './queue.ts';
import { fillHeapAtInit } from './heap-test-hook.ts';
import { evaluateRun } from './eval.ts';
import { exportRun } from './export.ts';
import { attention, predict, profile, receptiveField } from './inspect.ts';
import { controlTraining, startTraining, trainingActive } from './train.ts';

/** The handlers over the engine's one compute device (main.ts opens it with its host's page opener). */
export const engineHandlers = (devices: EngineDevices): Handlers => ({
  init: async (p) => {
    const report = await devices.init(p.backend, p.deviceCache);
    fillHeapAtInit();
    return report;
  },
  'train.start': (p, ctx) => startTraining(p, ctx, devices),
  'train.control': controlTraining,
  eval: (p, ctx) => evaluateRun(p, ctx, devices),
  predict: (p, ctx) => predict(p, ctx, devices),
  attention: (p, ctx) => attention(p, ctx, devices),
  receptiveField: (p, ctx) => receptiveField(p, ctx, devices),
  profile: (p, ctx) => profile(p, ctx, devices),
  export: exportRun,
  // After the queued inspections, alone: a measurement beside other work would time that work.
  measure: (p, ctx) => {
    if (trainingActive()) return Promise.reject(new StudioError('conflict', 'a run is training: measure the devices when it ends'));
    return serial(() => devices.measure(p, { signal: ctx.signal, onProgress: ctx.progress, onChange: ctx.deviceChanged }), ctx.signal);
  },
});
