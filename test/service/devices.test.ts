// devices.speeds / devices.measure / devices.cancel through the service and the real engine, on a machine
// whose Chromium is hidden (CHROMIUM_PATH names nothing) and wasm-workers off, so that only the in-process device starts and a
// measurement takes seconds: the Measure button's progress, the table kept beside settings.json, the engine's
// report naming its device, a cancelled measurement, 'auto' choosing at a first training, and no measurement
// while a run trains.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUNTIMES_FILE, runtimeKey } from '../../src/device/runtime-file.ts';
import { forkEngine } from '../../src/service/engine-process.ts';
import type { EventName } from '../../src/protocol/contract.ts';
import { StudioService } from '../../src/service/service.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { spawnFakeEngine, tempDir, waitFor } from '../engine/fixtures/studio.ts';

let ws: ReturnType<typeof tempDir>;
let service: StudioService;
let seen: { event: EventName; payload: any }[];

// MOBILEVIT_WORKERS=0 turns the wasm-workers device off: the in-process device is the only one that starts.
const start = (spawnEngine = () => forkEngine(undefined, { ...process.env, CHROMIUM_PATH: join(ws.dir, 'no-chromium'), MOBILEVIT_WORKERS: '0' })) => {
  service = new StudioService({ mode: 'cli', workspace: ws.dir, spawnEngine });
  service.on((event, payload) => seen.push({ event, payload }));
};
beforeEach(() => {
  ws = tempDir();
  seen = [];
});
afterEach(async () => {
  await service.close();
  ws.remove();
});

const call = (method: string, params: unknown = {}) => service.handle(method, params);
const ok = async (method: string, params: unknown = {}) => {
  const r = await call(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.result as any;
};

describe('measuring the devices through the service', () => {
  it('measures on request with progress, keeps the table, and reports the device the engine holds', async () => {
    start();
    expect(await ok('devices.speeds')).toEqual({ table: null, runtimes: [] });
    const table = await ok('devices.measure', { variant: 'mobilevit_xxs', imageSize: 32 });
    expect(table).toMatchObject({ variant: 'mobilevit_xxs', imageSize: 32, chosen: 'wasm', rows: [{ device: 'wasm', host: 'this process' }, {}, {}, {}] });
    expect(table.rows[0].imagesPerSecond).toBeGreaterThan(0);
    expect(table.rows[3].note).toMatch(/^did not start: CHROMIUM_PATH/);
    const labels = seen.filter((e) => e.event === 'progress' && e.payload.task === 'devices.measure').map((e) => e.payload.label);
    expect(labels).toContain('measuring wasm (1 of 1)');
    expect(await ok('devices.speeds')).toEqual({ table, runtimes: [] });
    const info = await ok('app.info');
    expect(info.backend.device).toEqual({ name: 'wasm', host: 'this process', adapter: null, software: false });
    expect(await ok('devices.cancel')).toEqual({ cancelled: false }); // nothing in flight
  });

  it("lists the inference runtime rule's choices kept for this machine beside the speeds (Settings shows them)", async () => {
    start();
    const entry = { key: runtimeKey('mobilevit_xxs', 224, 'wasm'), runtime: 'onnxruntime', msPerImage: { tfjs: 40, onnxruntime: 9 }, reason: 'measured faster', measuredAt: 5 };
    const other = { ...entry, key: entry.key.replace('"cores":', '"cores":1000') }; // another machine's: not listed
    writeFileSync(join(ws.dir, RUNTIMES_FILE), JSON.stringify({ format: 1, entries: [entry, other] }));
    expect((await ok('devices.speeds')).runtimes).toEqual([{ variant: 'mobilevit_xxs', size: 224, device: 'wasm', runtime: 'onnxruntime', reason: 'measured faster', measuredAt: 5 }]);
  });

  it('stops a measurement on devices.cancel, storing nothing', async () => {
    start();
    await ok('app.info');
    const pending = call('devices.measure', { variant: 'mobilevit_xxs', imageSize: 96 });
    await waitFor(() => seen.find((e) => e.event === 'progress' && e.payload.task === 'devices.measure' && /measuring/.test(e.payload.label)), 60_000, 'the measurement to start');
    const t0 = Date.now();
    expect(await ok('devices.cancel')).toEqual({ cancelled: true });
    const r = await pending;
    expect(Date.now() - t0).toBeLessThan(1000); // the request ends at once; the engine stops after the step in flight
    expect(r).toMatchObject({ ok: false, error: { message: 'measure was cancelled' } });
    expect(await ok('devices.speeds')).toEqual({ table: null, runtimes: [] });
    // The engine goes on serving once the cancelled step has ended.
    expect((await ok('devices.measure', { imageSize: 32 })).chosen).toBe('wasm');
  });

  it("with 'auto', the first training chooses the device (here the only one that starts) before preparing", async () => {
    start(() => forkEngine(undefined, { ...process.env, CHROMIUM_PATH: join(ws.dir, 'no-chromium'), MOBILEVIT_WORKERS: '0', MOBILEVIT_AUTO_MEASURE: '' }));
    const data = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 3, size: 16, seed: 1 });
    await ok('train.start', { settings: { data: data.root, epochs: 1, imageSize: 32, batchSize: 2 } });
    await waitFor(() => (service.activeRun() === null ? true : undefined), 120_000, 'the run to end');
    const labels = seen.filter((e) => e.event === 'progress' && e.payload.task === 'train.prepare').map((e) => e.payload.label);
    expect(labels[0]).toBe('measuring the compute devices');
    expect((await ok('devices.speeds')).table).toMatchObject({ imageSize: 32, chosen: 'wasm', rows: [{ device: 'wasm', note: 'not measured: no other device to compare with' }, {}, {}, {}] });
    expect((await ok('app.info')).backend.reason).toBe('auto: wasm: the only device to measure here');
  });

  it("with 'auto', a quick fine-tune chooses the device as any run does (its backbone features are computed on it)", async () => {
    start(() => forkEngine(undefined, { ...process.env, CHROMIUM_PATH: join(ws.dir, 'no-chromium'), MOBILEVIT_WORKERS: '0', MOBILEVIT_AUTO_MEASURE: '' }));
    const data = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 3, size: 16, seed: 1 });
    await ok('train.start', { settings: { data: data.root, epochs: 1, imageSize: 32, batchSize: 2, headOnly: true } });
    await waitFor(() => (service.activeRun() === null ? true : undefined), 120_000, 'the run to end');
    const labels = seen.filter((e) => e.event === 'progress' && e.payload.task === 'train.prepare').map((e) => e.payload.label);
    expect(labels[0]).toBe('measuring the compute devices');
    expect((await ok('app.info')).backend.reason).toBe('auto: wasm: the only device to measure here');
  });

  it('refuses to measure while a run trains', async () => {
    start(spawnFakeEngine);
    const data = await makeDataset(join(ws.dir, 'data'), { classes: 2, perClass: 3, size: 16, seed: 1 });
    const { runId } = await ok('train.start', { settings: { data: data.root, epochs: 1, imageSize: 32 } });
    const r = await call('devices.measure', {});
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/is training/) } });
    await ok('train.stop', { runId });
  });
});
