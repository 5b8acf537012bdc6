// The command registry, in the order `--help` lists them. Add a command: one file in this folder,
// one line here.
import type { CliCommand } from '../command.ts';
import { command as serve } from './serve.ts';

export const COMMANDS: CliCommand[] = [
  serve,
];
