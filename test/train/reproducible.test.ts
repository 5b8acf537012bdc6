// The same command twice, in fresh processes, gives the same run: every event equal but for wall-clock
// fields, for seed 0 (which TensorFlow.js would treat as "no seed") as for any other; another seed
// gives another run.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { CheckpointStore, FILES } from '../../src/run/index.ts';
import { tinyDataset } from './helpers.ts';

const CLI = resolve('bin/mobilevit-studio.mjs');

function train(args: string[]): Promise<{ code: number | null; events: TrainEvent[]; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr, events: out.trim().split('\n').map((l) => JSON.parse(l) as TrainEvent) }));
  });
}

/** Drops what the clock decides: timestamps, throughput, waits, durations, and paths that name the run folder. */
function comparable(e: TrainEvent): unknown {
  const { time: _t, ...rest } = e as TrainEvent & Record<string, unknown>;
  for (const k of ['imagesPerSec', 'dataWaitMs', 'seconds', 'runId', 'weights']) delete (rest as Record<string, unknown>)[k];
  return rest;
}

describe('reproducible runs', () => {
  it.each([0, 7])('seed %i: two fresh processes give identical event streams and weights', async (seed) => {
    const data = await tinyDataset({ classes: 3, perClass: 8, seed: 9 });
    const runs = mkdtempSync(join(tmpdir(), 'train-repro-'));
    const args = (name: string) => ['--data', data, '--image-size', '32', '--epochs', '2', '--batch-size', '8', '--seed', String(seed),
      '--backend', 'wasm', '--json', '--run-dir', join(runs, name)];
    const [a, b] = await Promise.all([train(args('a')), train(args('b'))]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.events.filter((e) => e.type === 'step').length).toBeGreaterThan(3);
    expect(b.events.map(comparable)).toEqual(a.events.map(comparable));
    const wa = new CheckpointStore(join(runs, 'a', FILES.checkpoints)).load('last')!.weights;
    const wb = new CheckpointStore(join(runs, 'b', FILES.checkpoints)).load('last')!.weights;
    for (const [key, t] of wa) expect(Buffer.from(wb.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer)), key).toBe(true);

    // Another seed: another initialisation, another split and order, so other losses from the first step.
    const other = await train([...args('c').slice(0, 8), '--seed', String(seed + 1), ...args('c').slice(10)]);
    expect(other.code, other.stderr).toBe(0);
    const firstLoss = (events: TrainEvent[]) => (events.find((e) => e.type === 'step') as { loss: number }).loss;
    expect(firstLoss(other.events)).not.toBe(firstLoss(a.events));
  }, 300_000);
});
