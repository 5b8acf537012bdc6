// The crash test: `train` runs in a child process that is killed with SIGKILL in the middle of an
// epoch, after a checkpoint and before the next; `resume` then finishes the run. Its per-step losses,
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
import { steps, tinyDataset } from './helpers.ts';

const CLI = resolve('bin/mobilevit-studio.mjs');

interface Child { code: number | null; signal: NodeJS.Signals | null; events: TrainEvent[]; stderr: string }

/** Runs the CLI; `killAt(event)` returning true sends SIGKILL at once. */
function cli(args: string[], killAt?: (e: TrainEvent) => boolean): Promise<Child> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

describe('kill -9 and resume', () => {
  it('continues exactly where an uninterrupted run would be, step for step', async () => {
    const data = await tinyDataset({ classes: 4, perClass: 10, seed: 3 });
    const runs = mkdtempSync(join(tmpdir(), 'train-kill-'));
    const common = ['--data', data, '--multi-scale', '--image-size', '48', '--batch-size', '8', '--epochs', '2',
      '--checkpoint-every', '2', '--seed', '11', '--ema', '--backend', 'wasm', '--json'];

    const killedDir = join(runs, 'killed');
    // The two runs are independent: side by side they take the time of one.
    const [whole, killed] = await Promise.all([
      cli(['train', ...common, '--run-dir', join(runs, 'whole')]),
      cli(['train', ...common, '--run-dir', killedDir], (e) => e.type === 'step' && e.step === 3),
    ]);
    expect(whole.stderr).not.toMatch(/mobilevit-studio/);
    expect(whole.code).toBe(0);
    expect(killed.signal).toBe('SIGKILL');
    // Killed mid-epoch, one step past the checkpoint of step 2, with nothing to say for itself.
    expect(steps(killed.events).at(-1)!.batch).toBeLessThan(steps(killed.events).at(-1)!.batches!);
    expect(new CheckpointStore(join(killedDir, FILES.checkpoints)).manifest('last')!.step).toBe(2);
    expect(readRun(killedDir).status).toBe('running');
    expect(await runSummary(killedDir)).toMatchObject({ status: 'failed', resumable: true });

    const resumed = await cli(['resume', '--run', killedDir, '--backend', 'wasm', '--json']);
    expect(resumed.stderr).not.toMatch(/mobilevit-studio/);
    expect(resumed.code).toBe(0);
    expect(resumed.events[0]).toMatchObject({ type: 'started', resumed: true, step: 2, epoch: 1 });

    const a = steps(readEvents(join(runs, 'whole', FILES.metrics)).events);
    const b = steps(readEvents(join(killedDir, FILES.metrics)).events);
    const strip = (e: (typeof a)[number]) => ({ step: e.step, epoch: e.epoch, loss: e.loss, lr: e.lr, resolution: e.resolution, batchSize: e.batchSize, acc: e.acc });
    expect(new Set(a.map((e) => e.resolution)).size).toBeGreaterThan(1); // the multi-scale sampler really varied the size
    expect(b.map(strip)).toEqual(a.map(strip));

    const finalOf = (c: Child) => c.events.find((e) => e.type === 'finished');
    expect(finalOf(resumed)).toMatchObject({ val: (finalOf(whole) as { val: unknown }).val });
    const wa = new CheckpointStore(join(runs, 'whole', FILES.checkpoints)).load('last')!;
    const wb = new CheckpointStore(join(killedDir, FILES.checkpoints)).load('last')!;
    expect(wb.manifest.step).toBe(wa.manifest.step);
    for (const [key, t] of wa.weights) expect(Buffer.from(wb.weights.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
  }, 300_000);
});
