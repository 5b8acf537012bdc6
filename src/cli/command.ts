// What a CLI command is: its flags, a one-line summary, and a run function that returns an exit code.
import type { FlagSpec, ParsedFlags } from './args.ts';

export interface CliIO {
  out(line: string): void; // stdout
  err(line: string): void; // stderr
}

export interface CliCommand {
  name: string;
  summary: string;
  flags: Record<string, FlagSpec>;
  /** Arguments that are not flags (`models pull NAME`); without this, any such argument is an error. */
  positional?: { min: number; max: number; value: string };
  run(flags: ParsedFlags, io: CliIO, args?: string[]): Promise<number>;
}
