// Every engine method and the function that does it.
import type { Handlers } from './dispatch.ts';
import { selectBackend } from './backend.ts';
import { evaluateRun } from './eval.ts';
import { exportRun } from './export.ts';
import { attention, predict, profile, receptiveField } from './inspect.ts';
import { controlTraining, startTraining } from './train.ts';

export const HANDLERS: Handlers = {
  init: (p) => selectBackend(p.backend),
  'train.start': startTraining,
  'train.control': controlTraining,
  eval: evaluateRun,
  predict,
  attention,
  receptiveField,
  profile,
  export: exportRun,
};
