// The command registry, in the order `--help` lists them. Add a command: one file in this folder,
// one line here.
import type { CliCommand } from '../command.ts';

export const COMMANDS: CliCommand[] = [
];
