// The crash test: `train` runs in child processes killed with SIGKILL at several points (before any
// checkpoint, mid-epoch after one, as an epoch ends); `resume` then finishes each run. Its per-step losses,
// learning rates, resolutions and batch sizes (the multi-scale sampler's position), its validation
// metrics and its final weights (EMA on, so its averaged weights and their evaluation too) must
// equal those of the same run done without interruption.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES, readEvents, readRun, runSummary } from '../../src/run/index.ts';
import { WAIT_FOR_TAKER } from '../../src/run/lock.ts';
import { steps, tinyDataset } from './helpers.ts';

const CLI = resolve('bin/mobilevit-studio.mjs');

interface Child { code: number | null; signal: NodeJS.Signals | null; events: TrainEvent[]; stderr: string }

/** Runs the CLI; `killAt(event)` returning true sends SIGKILL at once. */
function cli(args: string[], killAt?: (e: TrainEvent) => boolean, env: Record<string, string> = {}): Promise<Child> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const events: TrainEvent[] = [];
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = JSON.parse(line) as TrainEvent;
      events.push(e);
      if (killAt?.(e)) child.kill('SIGKILL');
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, events, stderr }));
  });
}

/**
 * The CLI's own error lines on stderr. Its notes that it is compiling itself first (dist-cli/ older than a source,
 * as after any edit) are not errors.
 */
const cliErrors = (stderr: string) => stderr.split('\n').filter((l) => l.includes('mobilevit-studio') && !/^mobilevit-studio: compiling /.test(l));

type Step = ReturnType<typeof steps>[number];
const strip = (e: Step) => ({ step: e.step, epoch: e.epoch, loss: e.loss, lr: e.lr, resolution: e.resolution, batchSize: e.batchSize, acc: e.acc });

/** Kill points: before the first checkpoint, just after one mid-epoch, and as the first epoch ends (evaluating, saving). */
const KILL_POINTS: { name: string; at: (e: TrainEvent) => boolean; checkpointStep: number | null }[] = [
  { name: 'before-any-checkpoint', at: (e) => e.type === 'step' && e.step === 1, checkpointStep: null },
  { name: 'mid-epoch', at: (e) => e.type === 'step' && e.step === 3, checkpointStep: 2 },
  { name: 'epoch-end', at: (e) => e.type === 'epoch' && e.epoch === 1, checkpointStep: null },
];

describe('kill -9 and resume', () => {
  it('continues exactly where an uninterrupted run would be, step for step, from any kill point', async () => {
    const data = await tinyDataset({ classes: 4, perClass: 10, seed: 3 });
    const runs = mkdtempSync(join(tmpdir(), 'train-kill-'));
    const common = ['--data', data, '--multi-scale', '--image-size', '48', '--batch-size', '8', '--epochs', '2',
      '--checkpoint-every', '2', '--seed', '11', '--ema', '--backend', 'wasm', '--json'];

    // The runs are independent: two at a time share the machine's cores (more would crowd the test files
    // running beside this one, some of which time CPU work).
    const jobs = [
      () => cli(['train', ...common, '--run-dir', join(runs, 'whole')]),
      ...KILL_POINTS.map((k) => () => cli(['train', ...common, '--run-dir', join(runs, k.name)], k.at)),
    ];
    const done: Child[] = [];
    for (let i = 0; i < jobs.length; i += 2) done.push(...(await Promise.all(jobs.slice(i, i + 2).map((job) => job()))));
    const [whole, ...killed] = done;
    expect(cliErrors(whole.stderr)).toEqual([]);
    expect(whole.code).toBe(0);
    const a = steps(readEvents(join(runs, 'whole', FILES.metrics)).events);
    expect(new Set(a.map((e) => e.resolution)).size).toBeGreaterThan(1); // the multi-scale sampler really varied the size
    const wholeLast = new CheckpointStore(join(runs, 'whole', FILES.checkpoints)).load('last')!;
    const finalOf = (c: Child) => c.events.find((e) => e.type === 'finished') as { val: unknown } | undefined;

    for (const [i, k] of KILL_POINTS.entries()) {
      const dir = join(runs, k.name);
      expect(killed[i].signal, k.name).toBe('SIGKILL');
      // Killed with nothing to say for itself: run.json still says running, the lock says nobody is.
      expect(readRun(dir).status, k.name).toBe('running');
      expect(await runSummary(dir), k.name).toMatchObject({ status: 'failed' });
      if (k.checkpointStep !== null) expect(new CheckpointStore(join(dir, FILES.checkpoints)).manifest('last')!.step).toBe(k.checkpointStep);
    }

    // Two resumes of one run at once: exactly one trains, the other is refused naming the trainer. Whichever takes
    // the lock waits until the other has tried (the lock's test hook): on a loaded machine one resume could
    // otherwise end before the other began.
    const mid = join(runs, 'mid-epoch');
    const racing = await Promise.all([0, 1].map(() => cli(['resume', '--run', mid, '--backend', 'wasm', '--json'], undefined, { [WAIT_FOR_TAKER]: '1' })));
    const winner = racing.find((r) => r.code === 0);
    const loser = racing.find((r) => r.code !== 0);
    expect(winner, racing.map((r) => r.stderr).join('\n')).toBeDefined();
    expect(loser?.stderr).toMatch(/is being trained by process \d+/);
    expect(loser?.events.filter((e) => e.type === 'step') ?? []).toHaveLength(0);
    const resumedRuns = new Map([[mid, winner!]]);
    for (const k of KILL_POINTS.filter((p) => join(runs, p.name) !== mid)) {
      const dir = join(runs, k.name);
      resumedRuns.set(dir, await cli(['resume', '--run', dir, '--backend', 'wasm', '--json']));
    }

    for (const [dir, resumed] of resumedRuns) {
      expect(cliErrors(resumed.stderr), dir).toEqual([]);
      expect(resumed.code, dir).toBe(0);
      expect(resumed.events[0], dir).toMatchObject({ type: 'started' });
      const b = steps(readEvents(join(dir, FILES.metrics)).events);
      expect(b.map(strip), dir).toEqual(a.map(strip));
      expect(finalOf(resumed), dir).toMatchObject({ val: finalOf(whole)!.val });
      const last = new CheckpointStore(join(dir, FILES.checkpoints)).load('last')!;
      expect(last.manifest.step).toBe(wholeLast.manifest.step);
      for (const [key, t] of wholeLast.weights) expect(Buffer.from(last.weights.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${dir} ${key}`).toBe(true);
    }
  }, 1_200_000); // only for a hang: five trainings and four resumes took 6 min here beside other test runs
});
