// How long a CLI command takes to start (issue 24 item 6): `--help` and `info` through bin/mobilevit-studio.mjs,
// compiled (dist-cli/, what runs by default) and from the sources through tsx (MOBILEVIT_CLI_SOURCE=1, what ran
// before), beside node alone and node importing TF.js, the floor a command that computes cannot go under.
// Each is a fresh process, timed from spawn to exit; the median of a few runs is reported. Target: --help well
// under a second (< 500 ms here), and info little more than loading TF.js.
import { spawnSync } from 'node:child_process';
import { table } from '../src/cli/common.ts';
import { CLI, ensureBuilt } from '../src/build/outputs.ts';
import { machine, median, writeResult } from './machine.ts';

interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

const BIN = 'bin/mobilevit-studio.mjs';
const INFO = [BIN, 'info', '--variant', 'xxs', '--image-size', '64', '--backend', 'wasm'];
const CASES: Case[] = [
  { name: 'node (nothing)', args: ['-e', ''] },
  { name: 'node + import TF.js', args: ['--input-type=module', '-e', "await import('@tensorflow/tfjs')"] },
  { name: '--help (compiled)', args: [BIN, '--help'] },
  { name: '--help (tsx)', args: [BIN, '--help'], env: { MOBILEVIT_CLI_SOURCE: '1' } },
  { name: 'info (compiled)', args: INFO },
  { name: 'info (tsx)', args: INFO, env: { MOBILEVIT_CLI_SOURCE: '1' } },
];

function timeOnce(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.args, { env: { ...process.env, ...c.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.toString().trim().split('\n').pop()}`);
  return ms;
}

export async function benchCli(opts: { runs?: number } = {}) {
  const runs = opts.runs ?? 5;
  const built = performance.now();
  const compiled = await ensureBuilt(CLI, { log: () => {} });
  const compileMs = performance.now() - built;
  const rows = CASES.map((c) => {
    timeOnce(c); // warm the file cache
    const times = Array.from({ length: runs }, () => timeOnce(c));
    return { command: c.name, median_ms: Math.round(median(times)), min_ms: Math.round(Math.min(...times)), runs };
  });
  const at = (name: string) => rows.find((r) => r.command === name)!.median_ms;
  const helpMs = at('--help (compiled)');
  const infoOverTfjsMs = at('info (compiled)') - at('node + import TF.js');
  console.log(`\nCLI start, fresh process from spawn to exit, median of ${runs}${compiled ? ` (the CLI was compiled first, ${Math.round(compileMs)} ms)` : ''}`);
  console.log(table(['command', 'median ms', 'min ms'], rows.map((r) => [r.command, r.median_ms, r.min_ms])));
  console.log(`--help ${helpMs} ms (target < 500 ms: ${helpMs < 500 ? 'met' : 'not met'}); info takes ${infoOverTfjsMs} ms more than importing TF.js (backend start, model, summary)`);
  const result = { machine: machine(), runs, compiled_first_ms: compiled ? Math.round(compileMs) : null, rows, help_ms: helpMs, help_target_ms: 500, info_over_tfjs_ms: infoOverTfjsMs };
  writeResult('bench/results/cli.json', result);
  return result;
}
