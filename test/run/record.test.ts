import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { appendEvent, readEvents, rewindEvents } from '../../src/run/index.ts';
import { CheckpointStore, FILES, acquireRunLock, createRun, defaultWorkspace, readRun, recordFailure, runSummary } from '../../src/run/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'run-'));

describe('workspace', () => {
  it('follows MOBILEVIT_WORKSPACE, then the OS per-user data folder', () => {
    expect(defaultWorkspace({ MOBILEVIT_WORKSPACE: '/w' }, 'linux', '/home/u')).toBe('/w');
    expect(defaultWorkspace({}, 'linux', '/home/u')).toBe('/home/u/.local/share/mobilevit-studio');
    expect(defaultWorkspace({ XDG_DATA_HOME: '/xdg' }, 'linux', '/home/u')).toBe('/xdg/mobilevit-studio');
    expect(defaultWorkspace({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/mobilevit-studio');
    expect(defaultWorkspace({ APPDATA: 'C:/Users/u/AppData/Roaming' }, 'win32', 'C:/Users/u')).toMatch(/Roaming[\\/]mobilevit-studio$/);
  });
});

describe('run folder', () => {
  it('creates runs/<id>/run.json with validated settings and defaults filled in', () => {
    const ws = tmp();
    const { id, dir } = createRun({ data: '/data/flowers', epochs: 3 }, { workspace: ws });
    expect(dir).toBe(join(ws, 'runs', id));
    expect(id).toMatch(/^\d{8}-\d{6}-mobilevit_xxs-[0-9a-f]{4}$/);
    const run = readRun(dir);
    expect(run).toMatchObject({ status: 'running', epochsDone: 0, settings: { epochs: 3, lr: 0.002, labelSmoothing: 0.1 } });
    expect(run.versions.tfjs).toMatch(/^4\./);
    expect(() => createRun({ data: '/d' }, { runDir: dir })).toThrow(/already holds a run/);
  });

  it('records the task; a run.json written before the task axis reads as classification', () => {
    const { dir } = createRun({ data: '/d', task: 'segmentation' }, { workspace: tmp() });
    expect(readRun(dir).settings.task).toBe('segmentation');
    const record = JSON.parse(readFileSync(join(dir, FILES.run), 'utf8'));
    delete record.settings.task;
    writeFileSync(join(dir, FILES.run), JSON.stringify(record));
    expect(readRun(dir).settings.task).toBe('classification');
    expect(() => createRun({ data: '/d', task: 'colouring' } as never, { workspace: tmp() })).toThrow(/task/);
  });

  it('rejects bad settings naming the field', () => {
    expect(() => createRun({ data: '/d', epochs: 0 }, { workspace: tmp() })).toThrow(/epochs/);
    expect(() => createRun({ data: '/d', batchSize: 'x' } as never, { workspace: tmp() })).toThrow(/batchSize/);
  });

  it('reports a running run that nobody holds the lock of as failed and resumable', async () => {
    const { dir } = createRun({ data: '/d' }, { workspace: tmp() });
    expect(await runSummary(dir)).toMatchObject({ status: 'failed', resumable: false, error: expect.stringMatching(/ended without a word/) });
    expect(await runSummary(dir, { live: true })).toMatchObject({ status: 'running', error: null });
    const lock = await acquireRunLock(dir, 'training');
    expect(await runSummary(dir)).toMatchObject({ status: 'running', error: null, resumable: false });
    await lock.release();
    appendFileSync(join(dir, FILES.checkpoints, 'last.json'), '{}');
    expect((await runSummary(dir)).resumable).toBe(true);
  });

  it('recordFailure records the reason once, in run.json and as the terminal event', async () => {
    const { dir } = createRun({ data: '/d' }, { workspace: tmp() });
    expect(recordFailure(dir, 'engine ran out of memory')).toMatchObject({ type: 'failed', error: 'engine ran out of memory' });
    expect(await runSummary(dir)).toMatchObject({ status: 'failed', error: 'engine ran out of memory' });
    expect(recordFailure(dir, 'again')).toBeNull();
    expect(readEvents(join(dir, FILES.metrics)).events).toMatchObject([{ type: 'failed', error: 'engine ran out of memory' }]);
    expect(readRun(dir).error).toBe('engine ran out of memory');
  });
});

describe('metrics.jsonl', () => {
  const step = (n: number): TrainEvent => ({ type: 'step', time: n, epoch: 1, step: n, loss: 1 / n, lr: 0.1, imagesPerSec: 10, dataWaitMs: 1, resolution: 32, batchSize: 4 });

  it('appends events, skips a torn last line, and rewinds to the first N events keeping unknown fields', () => {
    const path = join(tmp(), 'metrics.jsonl');
    for (let n = 1; n <= 4; n++) appendEvent(path, { ...step(n), acc: 0.5 } as TrainEvent);
    appendFileSync(path, '{"type":"step","ti');
    const log = readEvents(path);
    expect(log.events.map((e) => (e as { step: number }).step)).toEqual([1, 2, 3, 4]);
    expect(log.skipped).toBe(1);
    expect(rewindEvents(path, 2)).toBe(2);
    expect(readEvents(path)).toMatchObject({ skipped: 0, events: [{ step: 1 }, { step: 2 }] });
    expect(readFileSync(path, 'utf8')).toContain('"acc":0.5');
    expect(rewindEvents(path, 10)).toBe(2);
  });
});

describe('records that are not ours', () => {
  it('never quote the file in an error: a run.json linked to a secret says only what is wrong', () => {
    const dir = tmp();
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'SECRET_TOKEN=hunter2');
    symlinkSync(secret, join(dir, FILES.run));
    let message = '';
    try { readRun(dir); } catch (e) { message = (e as Error).message; }
    expect(message).toMatch(/not a run record/);
    expect(message).not.toMatch(/SECRET|hunter/);
    const store = new CheckpointStore(join(dir, FILES.checkpoints));
    writeFileSync(join(dir, FILES.checkpoints, 'last.json'), '{"SECRET_TOKEN": hunter2}');
    expect(() => store.manifest('last')).toThrow(/checkpoint manifest is not valid JSON$/);
    rmSync(join(dir, FILES.checkpoints, 'last.json'));
    mkfifoOrSkip(join(dir, FILES.checkpoints, 'last.json'));
  });
});

/** A FIFO where a manifest should be: refused at once, never read (which would block forever). */
function mkfifoOrSkip(path: string): void {
  if (spawnSync('mkfifo', [path]).status !== 0) return;
  const store = new CheckpointStore(join(path, '..'));
  expect(() => store.manifest('last')).toThrow(/not a regular file/);
}
