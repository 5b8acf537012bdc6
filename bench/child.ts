// One measurement in its own process, so that each starts from a fresh heap, its peak memory is its own, and one
// that fails cannot take the others down: `node bin/run-ts.mjs <script> '<job as JSON>'`, whose last stdout line
// is its JSON answer. Used by the train and speed sections.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export function runChild<T>(script: string, job: unknown): Promise<T | { error: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/run-ts.mjs'), resolve(script), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        done(JSON.parse(last));
      } catch {
        done({ error: `worker ended (${signal ?? `exit ${code}`}): ${err.trim().split('\n').pop() ?? ''}` });
      }
    });
  });
}
