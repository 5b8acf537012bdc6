// The bench's child processes: each measurement, CLI run or PyTorch script runs as a process of its own, its
// stdout and stderr collected to its end (collect). runChild is one measurement in its own process, so that each
// starts from a fresh heap, its peak memory is its own, and one that fails cannot take the others down:
// `node bin/run-ts.mjs <script> '<job as JSON>'`, whose last stdout line is its JSON answer. Used by the train and
// speed sections.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface Collected {
  out: string;
  err: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From spawn to exit. */
  seconds: number;
}

/** `command` with `args` run to its end (stdin closed, `env` added to this process's), its output collected. */
export function collect(command: string, args: string[], env: Record<string, string> = {}): Promise<Collected> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ out, err, code, signal, seconds: (performance.now() - t0) / 1000 }));
  });
}

/** The lines of `out` that are JSON objects (a CLI's --json events, a script's answer), parsed. */
export function jsonLines<T>(out: string): T[] {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as T);
}

export async function runChild<T>(script: string, job: unknown): Promise<T | { error: string }> {
  const { out, err, code, signal } = await collect(process.execPath, [resolve('bin/run-ts.mjs'), resolve(script), JSON.stringify(job)]);
  const last = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    return { error: `worker ended (${signal ?? `exit ${code}`}): ${err.trim().split('\n').pop() ?? ''}` };
  }
}
