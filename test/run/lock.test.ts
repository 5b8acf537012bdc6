// The run lock: one holder at a time, named in the refusal, and free the moment its holder dies —
// even by kill -9, with the dead process's pid still around as a zombie.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RunLockedError, WAIT_FOR_TAKER, acquireRunLock, probeRunLock, withRunLock } from '../../src/run/lock.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function runDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'run-lock-'));
  dirs.push(d);
  return d;
}

/** A child process that takes the lock, says so, and then waits. */
async function holdInChild(dir: string): Promise<ChildProcess> {
  const code = `import { acquireRunLock } from './src/run/lock.ts';
    await acquireRunLock(process.argv[1], 'training'); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); });
    child.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return child;
}

describe('run lock', () => {
  it('lets one holder in and names it to the next', async () => {
    const dir = runDir();
    expect(await probeRunLock(dir)).toBeNull();
    const lock = await acquireRunLock(dir, 'training');
    expect(await probeRunLock(dir)).toMatchObject({ pid: process.pid, purpose: 'training' });
    const err = await acquireRunLock(dir, 'deleting').catch((e) => e);
    expect(err).toBeInstanceOf(RunLockedError);
    expect(err.message).toMatch(new RegExp(`is being trained by process ${process.pid}`));
    await lock.release();
    expect(await probeRunLock(dir)).toBeNull();
    await withRunLock(dir, 'deleting', async () => expect(await probeRunLock(dir)).toMatchObject({ purpose: 'deleting' }));
  });

  it('admits exactly one of many simultaneous takers', async () => {
    const dir = runDir();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireRunLock(dir, 'training')));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it('is held across processes and freed by kill -9 of its holder, zombie or not', async () => {
    const dir = runDir();
    const child = await holdInChild(dir);
    await expect(acquireRunLock(dir, 'training')).rejects.toThrow(`by process ${child.pid}`);
    // Kill it and take the lock before the parent reaps it: the pid still exists as a zombie.
    process.kill(child.pid!, 'SIGKILL');
    for (let i = 0; i < 100 && (await probeRunLock(dir)) !== null; i++) await new Promise((r) => setTimeout(r, 20));
    const lock = await acquireRunLock(dir, 'training');
    await lock.release();
  });

  it('with the test hook, a taker holds on until another has tried to take the lock (a probe is no try)', async () => {
    const dir = runDir();
    let holding = false;
    const first = acquireRunLock(dir, 'training', { [WAIT_FOR_TAKER]: '1' }).then((lock) => ((holding = true), lock));
    while ((await probeRunLock(dir)) === null) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    expect(holding, 'a probe (runs.list, a summary) let the holder go on').toBe(false);
    await expect(acquireRunLock(dir, 'training')).rejects.toThrow(`is being trained by process ${process.pid}`);
    const lock = await first;
    expect(holding).toBe(true);
    await lock.release();
  });

  it('locks by folder, not by spelling of its path', async () => {
    const dir = runDir();
    const lock = await acquireRunLock(dir, 'training');
    await expect(acquireRunLock(join(dir, '.', '..', dir.split('/').pop()!), 'x')).rejects.toBeInstanceOf(RunLockedError);
    expect(await probeRunLock(runDir())).toBeNull();
    await lock.release();
  });
});
