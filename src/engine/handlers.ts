// Every engine method and the function that does it.
import type { Handlers } from './dispatch.ts';
import { StudioError } from '../protocol/contract.ts';
import { engineDevices } from './devices.ts';
import { serial } from './queue.ts';
import { fillHeapAtInit } from './heap-test-hook.ts';
import { evaluateRun } from './eval.ts';
import { exportRun } from './export.ts';
import { attention, predict, profile, receptiveField } from './inspect.ts';
import { controlTraining, startTraining, trainingActive } from './train.ts';

export const HANDLERS: Handlers = {
  init: async (p) => {
    const report = await engineDevices.init(p.backend, p.deviceCache);
    fillHeapAtInit();
    return report;
  },
  'train.start': startTraining,
  'train.control': controlTraining,
  eval: evaluateRun,
  predict,
  attention,
  receptiveField,
  profile,
  export: exportRun,
  // After the queued inspections, alone: a measurement beside other work would time that work.
  measure: (p, ctx) => {
    if (trainingActive()) return Promise.reject(new StudioError('conflict', 'a run is training: measure the devices when it ends'));
    return serial(() => engineDevices.measure(p, { signal: ctx.signal, onProgress: ctx.progress, onChange: ctx.deviceChanged }), ctx.signal);
  },
};
