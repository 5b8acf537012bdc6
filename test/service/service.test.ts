import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StudioService } from '../../src/service/service.ts';
import { acquireRunLock, createRun } from '../../src/run/index.ts';
import type { EventName } from '../../src/protocol/contract.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { spawnFakeEngine, tempDir, waitFor } from '../engine/fixtures/studio.ts';

let ws: ReturnType<typeof tempDir>;
let service: StudioService;
let seen: { event: EventName; payload: any }[];

beforeEach(() => {
  ws = tempDir();
  service = new StudioService({ mode: 'cli', workspace: ws.dir, spawnEngine: spawnFakeEngine });
  seen = [];
  service.on((event, payload) => seen.push({ event, payload }));
});
afterEach(async () => {
  await service.close();
  ws.remove();
});

const ok = async (method: string, params: unknown = {}) => {
  const r = await service.handle(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.result as any;
};

describe('studio service', () => {
  it('answers app.info without starting the engine', async () => {
    const info = await ok('app.info');
    expect(info).toMatchObject({ mode: 'cli', workspace: ws.dir, backend: null, engine: { state: 'idle' }, dialogs: false });
    expect(info.versions.tfjs).toMatch(/^4\./);
  });

  it('replies with a typed error to malformed requests and never throws', async () => {
    const cases: [unknown, unknown, string][] = [
      ['no.such.method', {}, 'invalid_request'],
      [42, {}, 'invalid_request'],
      [undefined, undefined, 'invalid_request'],
      ['runs.get', { runId: '../../etc/passwd' }, 'invalid_request'],
      ['runs.get', 'not an object', 'invalid_request'],
      ['train.start', { settings: { data: ws.dir, epochs: -1 } }, 'invalid_request'],
      ['runs.get', { runId: 'missing-run' }, 'not_found'],
      ['dataset.scan', { path: join(ws.dir, 'nope') }, 'not_found'],
      ['dialog.openFolder', {}, 'unsupported'],
      ['train.stop', { runId: 'missing-run' }, 'not_found'],
    ];
    for (const [method, params, code] of cases) {
      const r = await service.handle(method, params);
      expect(r.ok, String(method)).toBe(false);
      if (!r.ok) {
        expect(r.error.code, `${String(method)} ${JSON.stringify(params)}`).toBe(code);
        expect(r.error.message.length).toBeGreaterThan(5);
      }
    }
    const bad = await service.handle('train.start', { settings: { data: ws.dir, epochs: -1 } });
    expect(!bad.ok && bad.error.message).toMatch(/settings\.epochs/);
  });

  it('keeps settings in settings.json and survives a corrupt one', async () => {
    expect(await ok('settings.get')).toEqual({ workspace: ws.dir, backend: 'auto' });
    expect(await ok('settings.set', { backend: 'wasm' })).toMatchObject({ backend: 'wasm' });
    expect(JSON.parse(readFileSync(join(ws.dir, 'settings.json'), 'utf8')).backend).toBe('wasm');
    expect((await service.handle('settings.set', { workspace: '/elsewhere' })).ok).toBe(false); // fixed for this session
    writeFileSync(join(ws.dir, 'settings.json'), '{ not json');
    const again = new StudioService({ mode: 'cli', workspace: ws.dir, spawnEngine: spawnFakeEngine });
    expect((await again.handle('settings.get', {})) ).toMatchObject({ ok: true, result: { backend: 'auto' } });
    await again.close();
  });

  it('switches to a chosen workspace and remembers it', async () => {
    const config = join(ws.dir, 'config');
    const fallback = join(ws.dir, 'default-ws');
    const chosen = join(ws.dir, 'chosen ws');
    const saved = process.env.MOBILEVIT_WORKSPACE;
    process.env.MOBILEVIT_WORKSPACE = fallback;
    try {
      const s1 = new StudioService({ mode: 'cli', configDir: config, spawnEngine: spawnFakeEngine });
      expect(await s1.handle('settings.get', {})).toMatchObject({ ok: true, result: { workspace: fallback } });
      createRun({ data: ws.dir }, { workspace: chosen, name: 'over there' });
      expect(await s1.handle('settings.set', { workspace: chosen })).toMatchObject({ ok: true, result: { workspace: chosen } });
      expect(await s1.handle('runs.list', {})).toMatchObject({ ok: true, result: { runs: [{ name: 'over there' }] } });
      await s1.close();
      const s2 = new StudioService({ mode: 'cli', configDir: config, spawnEngine: spawnFakeEngine });
      expect(await s2.handle('app.info', {})).toMatchObject({ ok: true, result: { workspace: chosen } });
      await s2.close();
    } finally {
      if (saved === undefined) delete process.env.MOBILEVIT_WORKSPACE;
      else process.env.MOBILEVIT_WORKSPACE = saved;
    }
  });

  it('lists, replays, renames and deletes runs', async () => {
    const { id, dir } = createRun({ data: ws.dir, epochs: 2 }, { workspace: ws.dir, name: 'first' });
    const step = { type: 'step', time: 1, epoch: 0, step: 1, loss: 2.2, lr: 1e-3, imagesPerSec: 10, dataWaitMs: 1, resolution: 32, batchSize: 4 };
    appendFileSync(join(dir, 'metrics.jsonl'), JSON.stringify(step) + '\n' + '{"type":"step","ti'); // torn last line
    const { runs } = await ok('runs.list');
    expect(runs.map((r: any) => [r.id, r.name])).toEqual([[id, 'first']]);
    const detail = await ok('runs.get', { runId: id });
    expect(detail.events).toEqual([step]);
    expect(detail.skippedEvents).toBe(1);
    expect(detail.run.settings.epochs).toBe(2);
    expect((await ok('runs.rename', { runId: id, name: '  better  ' })).name).toBe('better');
    expect((await ok('runs.get', { runId: id })).run.name).toBe('better');
    await ok('runs.delete', { runId: id });
    expect(existsSync(dir)).toBe(false);
    expect((await ok('runs.list')).runs).toEqual([]);
  });

  it('keeps tags and notes on a run in its run.json, and refuses bad ones naming the field', async () => {
    const { id, dir } = createRun({ data: ws.dir, epochs: 2 }, { workspace: ws.dir, name: 'tagged' });
    expect((await ok('runs.list')).runs[0]).toMatchObject({ tags: [], notes: '' });
    const r = await ok('runs.annotate', { runId: id, tags: [' baseline ', 'xxs', 'xxs'], notes: 'lr too high?' });
    expect(r).toMatchObject({ tags: ['baseline', 'xxs'], notes: 'lr too high?' });
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).toMatchObject({ tags: ['baseline', 'xxs'], notes: 'lr too high?' });
    // Notes alone keep the tags.
    expect(await ok('runs.annotate', { runId: id, notes: '' })).toMatchObject({ tags: ['baseline', 'xxs'], notes: '' });
    for (const [tags, field] of [[['a,b'], /tags\.0: a tag holds no commas/], [[''], /tags\.0: a tag is empty/], [['x'.repeat(41)], /tags\.0: a tag is longer than 40/]] as const) {
      const bad = await service.handle('runs.annotate', { runId: id, tags });
      expect(!bad.ok && bad.error.code).toBe('invalid_request');
      expect(!bad.ok && bad.error.message).toMatch(field);
    }
    expect((await ok('runs.get', { runId: id })).run.tags).toEqual(['baseline', 'xxs']);
  });

  it('lists the workspace\'s folders a dataset can be opened from, links included, its own folders left out', async () => {
    for (const d of ['datasets/flowers', 'datasets/birds', 'shapes', 'runs/r1', 'models/m', '.hidden', 'elsewhere/cars']) mkdirSync(join(ws.dir, d), { recursive: true });
    writeFileSync(join(ws.dir, 'notes.txt'), 'x');
    symlinkSync(join(ws.dir, 'elsewhere', 'cars'), join(ws.dir, 'datasets', 'cars'));
    symlinkSync(join(ws.dir, 'gone'), join(ws.dir, 'datasets', 'dangling'));
    const { workspace, folders } = await ok('dataset.folders');
    expect(workspace).toBe(ws.dir);
    expect(folders.map((f: { name: string }) => f.name)).toEqual(['datasets/birds', 'datasets/cars', 'datasets/flowers', 'elsewhere', 'shapes']);
    expect(folders[1].path).toBe(join(ws.dir, 'datasets', 'cars'));
  });

  it('keeps the Train view in the workspace, and reads a damaged views.json as nothing kept', async () => {
    expect(await ok('views.get')).toEqual({ train: null });
    const train = { data: join(ws.dir, 'data'), settings: { variant: 'mobilevit_xs', imageSize: 64, epochs: 3 }, runId: null };
    const saved = await ok('views.set', { train });
    expect(saved.train).toMatchObject({ data: train.data, runId: null, settings: { variant: 'mobilevit_xs', imageSize: 64, epochs: 3, batchSize: 32 } });
    expect(await ok('views.get')).toEqual(saved);
    const bad = await service.handle('views.set', { train: { ...train, settings: { imageSize: 8 } } });
    expect(!bad.ok && bad.error.message).toMatch(/train\.settings\.imageSize/);
    expect(await ok('views.get')).toEqual(saved); // nothing half-written
    writeFileSync(join(ws.dir, 'views.json'), '{ not json');
    expect(await ok('views.get')).toEqual({ train: null });
  });

  it('refuses to delete, rename or resume a run that another process is training, and lists it as running', async () => {
    const { id, dir } = createRun({ data: ws.dir, epochs: 2 }, { workspace: ws.dir, name: 'busy' });
    appendFileSync(join(dir, 'checkpoints', 'last.json'), '{}');
    // Another trainer (a CLI `resume`, another studio) holds the run's lock.
    const lock = await acquireRunLock(dir, 'training');
    try {
      expect((await ok('runs.list')).runs[0]).toMatchObject({ id, status: 'running', resumable: false });
      for (const [method, params] of [['runs.delete', { runId: id }], ['runs.rename', { runId: id, name: 'x' }], ['runs.annotate', { runId: id, tags: ['x'] }], ['train.resume', { runId: id }]] as const) {
        const r = await service.handle(method, params);
        expect(!r.ok && r.error.code, method).toBe('conflict');
        expect(!r.ok && r.error.message, method).toMatch(new RegExp(`process ${process.pid}|another process`));
      }
      expect(existsSync(join(dir, 'run.json'))).toBe(true);
    } finally {
      await lock.release();
    }
    // Its trainer gone without a word: failed, resumable, and deletable.
    expect((await ok('runs.list')).runs[0]).toMatchObject({ id, status: 'failed', resumable: true });
    await ok('runs.delete', { runId: id });
    expect(existsSync(dir)).toBe(false);
  });

  it('scans a dataset with skipped files, and serves thumbnails from the scan', async () => {
    const ds = await makeDataset(join(ws.dir, 'data set ü'), { classes: ['cat', 'dog'], perClass: 4, size: 32, corrupt: true });
    const scan = await ok('dataset.scan', { path: ds.root });
    expect(scan.classes.map((c: any) => [c.name, c.total])).toEqual([['cat', 4], ['dog', 4]]);
    expect(scan.skipped.map((s: any) => s.path).sort()).toEqual([...ds.skipped].sort());
    expect(scan.problems).toEqual([]);
    expect(seen.some((e) => e.event === 'progress' && e.payload.task === 'dataset.scan')).toBe(true);
    const thumbs = await ok('dataset.thumbnails', { path: ds.root, class: 'dog', limit: 3, size: 24 });
    expect(thumbs.total).toBe(4);
    expect(thumbs.items).toHaveLength(3);
    expect(thumbs.items[0]).toMatchObject({ class: 'dog', width: 24, height: 24 });
    expect(thumbs.items[0].dataUrl).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    const none = await service.handle('dataset.thumbnails', { path: ds.root, class: 'horse' });
    expect(!none.ok && none.error.code).toBe('not_found');
  });

  it('trains through the engine, streams events and pauses', async () => {
    const ds = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 2, size: 32 });
    const { runId } = await ok('train.start', { settings: { data: ds.root, epochs: 1 }, name: 'live' });
    await waitFor(() => (seen.filter((e) => e.event === 'train.event' && e.payload.event.type === 'step').length >= 3 ? true : undefined), 10_000, 'step events');
    expect(service.activeRun()).toBe(runId);
    const second = await service.handle('train.start', { settings: { data: ds.root } });
    expect(!second.ok && second.error.code).toBe('conflict');
    await ok('train.pause', { runId });
    const status = await waitFor(() => seen.find((e) => e.event === 'run.status' && e.payload.status !== 'running')?.payload, 5000, 'run.status');
    expect(status).toMatchObject({ runId, status: 'paused' });
    expect(service.activeRun()).toBe(null);
    const detail = await ok('runs.get', { runId });
    expect(detail.events.at(-1)).toMatchObject({ type: 'stopped', reason: 'pause' });
    expect(detail.events.filter((e: any) => e.type === 'step').length).toBeGreaterThanOrEqual(3);
  });

  it('refuses settings that could never train before a run folder exists (one class, RandAugment with colour jitter, a size below the minimum)', async () => {
    const one = await makeDataset(join(ws.dir, 'one'), { classes: 1, perClass: 2, size: 32 });
    const two = await makeDataset(join(ws.dir, 'two'), { classes: 2, perClass: 2, size: 32 });
    const refusals: [unknown, RegExp][] = [
      [{ data: one.root }, /need at least two class folders, found only .*class_0/],
      [{ data: two.root, augmentation: { randAugment: true, colorJitter: 0.2 } }, /augmentation\.colorJitter must be 0 with augmentation\.randAugment/],
      [{ data: two.root, imageSize: 16 }, /settings\.imageSize: Number must be greater than or equal to 32/],
      [{ data: two.root, imageSize: 32, multiScale: true }, /multi-scale sampler around 32 px would train at \d+ px, below the model's 32 px minimum/],
    ];
    for (const [settings, message] of refusals) {
      const r = await service.handle('train.start', { settings });
      expect(!r.ok && r.error.code, JSON.stringify(r)).toBe('invalid_request');
      expect(!r.ok && r.error.message).toMatch(message);
    }
    expect((await ok('runs.list')).runs).toEqual([]);
    expect(existsSync(join(ws.dir, 'runs')) ? readdirSync(join(ws.dir, 'runs')) : []).toEqual([]);
  });

  it('marks the run failed when the engine dies, keeps answering, and restarts the engine', async () => {
    const ds = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 2, size: 32 });
    const { runId } = await ok('train.start', { settings: { data: ds.root, epochs: 1 } });
    await waitFor(() => (seen.some((e) => e.event === 'train.event' && e.payload.event.type === 'step') ? true : undefined), 10_000, 'a step');
    const pid = service.engine.pid!;
    process.kill(pid, 'SIGKILL');
    const failed = await waitFor(() => seen.find((e) => e.event === 'run.status' && e.payload.status === 'failed')?.payload, 10_000, 'failed status');
    expect(failed.runId).toBe(runId);
    expect(failed.error).toMatch(/killed by SIGKILL/);
    expect(seen.some((e) => e.event === 'engine.status' && e.payload.state === 'crashed')).toBe(true);
    // The service keeps answering while the engine is down…
    const info = await ok('app.info');
    expect(info.engine).toMatchObject({ state: 'crashed', lastCrash: expect.stringMatching(/SIGKILL/) });
    const run = await ok('runs.get', { runId });
    expect(run.run).toMatchObject({ status: 'failed', error: expect.stringMatching(/SIGKILL/) });
    expect(run.events.at(-1)).toMatchObject({ type: 'failed' });
    // …and the next request that needs it starts a fresh one.
    const p = await ok('inspect.predict', { model: { variant: 'mobilevit_xxs' }, image: { path: '/x.png' } });
    expect(p.top5[0].label).toBe('a');
    expect(service.engine.pid).not.toBe(pid);
  });

  it('fails a request in flight with engine_crashed when the engine dies under it', async () => {
    const pending = service.handle('inspect.predict', { model: { variant: 'mobilevit_xxs' }, image: { path: '/hang.png' } });
    await waitFor(() => service.engine.pid && service.engine.state === 'ready' ? true : undefined, 10_000, 'engine ready');
    await new Promise((r) => setTimeout(r, 50));
    process.kill(service.engine.pid!, 'SIGKILL');
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('engine_crashed');
  });
});
