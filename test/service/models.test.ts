// The zoo through the service: models.list with cached marks, models.pull with progress events and cancel,
// and a zoo name as ModelRef.weights (the engine gets the cached file, the variant and ImageNet labels).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EventName } from '../../src/protocol/contract.ts';
import { StudioService } from '../../src/service/service.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { spawnFakeEngine, tempDir } from '../engine/fixtures/studio.ts';

const WEIGHTS = readFileSync(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'));
let hub: FakeHub;
let ws: ReturnType<typeof tempDir>;
let service: StudioService;
let seen: { event: EventName; payload: any }[];
const saved = process.env.HF_ENDPOINT;

beforeAll(async () => {
  hub = await new FakeHub().start();
  hub.add('timm/mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors', { body: WEIGHTS });
  hub.add('timm/mobilevit_xs.cvnets_in1k', 'main', 'model.safetensors', { body: Buffer.concat([WEIGHTS, WEIGHTS]), mode: 'slow' });
  process.env.HF_ENDPOINT = hub.endpoint;
});
afterAll(async () => {
  await hub.stop();
  if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
});
beforeEach(() => {
  ws = tempDir();
  service = new StudioService({ mode: 'cli', workspace: ws.dir, spawnEngine: spawnFakeEngine });
  seen = [];
  service.on((event, payload) => seen.push({ event, payload }));
});
afterEach(async () => { await service.close(); ws.remove(); });

const call = (method: string, params: unknown = {}) => service.handle(method, params);

describe('models.* requests', () => {
  it('lists the zoo, pulls with byte progress, and lists it cached afterwards', async () => {
    let r = await call('models.list');
    expect(r.ok).toBe(true);
    const list = (r as any).result.models as { name: string; cached: boolean }[];
    expect(list).toHaveLength(7);
    expect(list.every((m) => !m.cached)).toBe(true);

    r = await call('models.pull', { name: 'mobilevit_xxs' });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const pulled = (r as any).result;
    expect(pulled).toMatchObject({ repo: 'timm/mobilevit_xxs.cvnets_in1k', variant: 'mobilevit_xxs', size: WEIGHTS.length, downloaded: true });
    expect(pulled.weights).toMatch(/model\.studio\.safetensors$/);
    const progress = seen.filter((e) => e.event === 'progress' && e.payload.task === 'models.pull');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.payload).toMatchObject({ done: WEIGHTS.length, total: WEIGHTS.length });
    expect(progress.at(-1)!.payload.label).toMatch(/MB\/s/);

    r = await call('models.list');
    expect((r as any).result.models.find((m: { name: string }) => m.name === 'mobilevit_xxs').cached).toBe(true);
  });

  it('train.start with a zoo name: the run records the cached file and the zoo model\'s variant', async () => {
    const ds = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 2, size: 32 });
    const r = await call('train.start', { settings: { data: ds.root, epochs: 1, variant: 'mobilevit_s', weights: 'timm/mobilevit_xxs.cvnets_in1k' } });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const detail = await call('runs.get', { runId: (r as any).result.runId });
    expect((detail as any).result.run?.settings ?? (detail as any).result.settings).toMatchObject({ variant: 'mobilevit_xxs' });
    const settings = (detail as any).result.run?.settings ?? (detail as any).result.settings;
    expect(settings.weights).toMatch(/models\/timm\/mobilevit_xxs.cvnets_in1k\/main\/model\.studio\.safetensors$/);
    await call('train.stop', { runId: (r as any).result.runId });
  });

  it('cancel stops a pull in flight; a name outside the zoo is not_found', async () => {
    const pending = call('models.pull', { name: 'timm/mobilevit_xs.cvnets_in1k' });
    await new Promise((res) => setTimeout(res, 150));
    expect((await call('models.cancel', { name: 'mobilevit_xs' }) as any).result).toEqual({ cancelled: true });
    const r = await pending;
    expect(r.ok).toBe(false);
    expect((r as any).error).toMatchObject({ code: 'failed' });
    expect((r as any).error.message).toMatch(/cancelled/);
    expect((await call('models.cancel', { name: 'mobilevit_xs' }) as any).result).toEqual({ cancelled: false });
    const bad = await call('models.pull', { name: 'someone/else' });
    expect((bad as any).error.code).toBe('not_found');
  });

  it('models.import puts a local file in the cache; a bad one fails in words and caches nothing', async () => {
    let r = await call('models.import', { file: fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'), name: 'xxs' });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect((r as any).result).toMatchObject({ name: 'mobilevit_xxs', variant: 'mobilevit_xxs', downloaded: false, size: WEIGHTS.length });
    r = await call('models.list');
    expect((r as any).result.models.find((m: { name: string }) => m.name === 'mobilevit_xxs').cached).toBe(true);
    r = await call('models.import', { file: fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'), name: 'mobilevit_s' });
    expect((r as any).error).toMatchObject({ code: 'failed' });
    expect((r as any).error.message).toMatch(/does not fit mobilevit_s.*nothing was cached/);
    r = await call('models.import', { file: fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'), name: 'someone/else' });
    expect((r as any).error.code).toBe('not_found');
    r = await call('models.import', { file: fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors') }); // recognised
    expect((r as any).result).toMatchObject({ name: 'mobilevit_xxs', variant: 'mobilevit_xxs' });
  });
});

it('Quick from ImageNet weights with no network: train.start fails with what happened and what to do, and no run is left', async () => {
  const ws = tempDir();
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = 'http://127.0.0.1:9'; // the discard port: nothing listens there
  const service = new StudioService({ mode: 'cli', workspace: ws.dir, spawnEngine: spawnFakeEngine });
  try {
    const r = await service.handle('train.start', { settings: { data: ws.dir, epochs: 1, weights: 'mobilevit_xxs' } });
    expect((r as any).error).toMatchObject({ code: 'failed' });
    expect((r as any).error.message).toMatch(/refused the connection.*Without the Hub: import a local copy .*HF_ENDPOINT to a mirror.*from scratch/);
    expect(((await service.handle('runs.list', {})) as any).result.runs).toEqual([]);
  } finally {
    await service.close();
    ws.remove();
    if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
  }
});
