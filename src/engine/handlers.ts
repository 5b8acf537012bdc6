// Every engine method and the function that does it.
import { StudioError } from '../protocol/contract.ts';
import type { Handlers } from './dispatch.ts';
import { selectBackend } from './backend.ts';
import { attention, predict, profile, receptiveField } from './inspect.ts';
import { controlTraining, startTraining } from './train.ts';

export const HANDLERS: Handlers = {
  init: (p) => selectBackend(p.backend),
  'train.start': startTraining,
  'train.control': controlTraining,
  eval: async () => {
    throw new StudioError('unsupported', 'evaluating a run is not wired to src/train yet');
  },
  predict,
  attention,
  receptiveField,
  profile,
};
