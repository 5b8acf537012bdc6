// The command registry, in the order `--help` lists them. Add a command: one file in this folder,
// one line here.
import type { CliCommand } from '../command.ts';
import { command as info } from './info.ts';
import { command as devices } from './devices.ts';
import { command as forward } from './forward.ts';
import { command as predict } from './predict.ts';
import { command as serve } from './serve.ts';
import { command as attention } from './attention.ts';
import { command as receptiveField } from './receptive-field.ts';
import { command as profile } from './profile.ts';
import { command as train } from './train.ts';
import { command as resume } from './resume.ts';
import { command as evaluate } from './eval.ts';
import { command as exportCmd } from './export.ts';
import { command as models } from './models.ts';
import { command as bench } from './bench.ts';

export const COMMANDS: CliCommand[] = [
  info,
  devices,
  forward,
  predict,
  serve,
  attention,
  receptiveField,
  profile,
  train,
  resume,
  evaluate,
  exportCmd,
  models,
  bench,
];
