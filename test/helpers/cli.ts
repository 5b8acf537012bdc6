// The CLI in-process, as the tests drive it: the exit code, stdout as text and as lines, stderr lines.
import { main } from '../../src/cli/main.ts';

export interface CliRun {
  code: number;
  /** stdout, lines joined with newlines. */
  out: string;
  lines: string[];
  err: string[];
}

export async function runCli(...argv: string[]): Promise<CliRun> {
  const lines: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => lines.push(l), err: (l) => err.push(l) });
  return { code, out: lines.join('\n'), lines, err };
}
