// The engine's one compute device (src/engine/devices.ts) with fake page devices and made-up speeds: the
// setting's device at init (a page that cannot start leaves the in-process backend, saying why), 'auto' moving
// to the measured winner at the first training and answering from the speeds file in a later engine, and the
// switches that keep 'auto' from measuring; the worker-thread device (wasm-workers) from the setting and
// among what 'auto' measures when the engine is given its opener.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PageBackend } from '../../src/backend/names.ts';
import type { ComputeDevice } from '../../src/device/device.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import { probeDevices, type DeviceDeps } from '../../src/device/choice.ts';
import { EngineDevices } from '../../src/engine/devices.ts';
import { openWorkerDevice } from '../../src/device/parallel.ts';
import { tempDir } from './fixtures/studio.ts';

const FACTS = { studio: 'test', tfjs: 'test', platform: 'test', cpu: 'test', cores: 2 };
const SPEED: Record<string, number> = { wasm: 10, 'wasm-workers': 20, 'wasm-threads': 40, webgpu: 90, webgl: 50 };
const ADAPTER: Record<PageBackend, [string, boolean]> = { webgpu: ['NVIDIA RTX', false], webgl: ['ANGLE (NVIDIA)', false], 'wasm-threads': ['4 thread(s), SIMD', false] };

interface Fakes { deps: DeviceDeps; open: ReturnType<typeof vi.fn>; measure: ReturnType<typeof vi.fn>; pages: (ComputeDevice & { closed: boolean })[] }

/** A fake wasm-workers device as ParallelDevice describes itself (2 threads), and its opener; `fails`: the opener's error. */
function fakeWorkers(fails?: string) {
  const devices: (ComputeDevice & { closed: boolean })[] = [];
  const open = vi.fn(async () => {
    if (fails) throw new Error(fails);
    const info: DeviceInfo = { name: 'wasm-workers', tfBackend: 'wasm', host: '2 worker threads of this process', adapter: '2 threads, data parallel', software: false, threads: 2, workers: 2 };
    const device = { info, closed: false, call: async () => null as never, localModel: () => null, close: async () => { device.closed = true; } };
    devices.push(device);
    return device;
  });
  return { open, devices };
}

function fakes(env: Record<string, string | undefined> = {}, failing: string[] = []): Fakes {
  const pages: Fakes['pages'] = [];
  const open = vi.fn(async (backend: PageBackend) => {
    if (failing.includes(backend)) throw new Error(`${backend} has no adapter here`);
    const [adapter, software] = ADAPTER[backend];
    const info: DeviceInfo = { name: backend, tfBackend: backend === 'wasm-threads' ? 'wasm' : backend, host: 'headless Chromium 150', adapter, software };
    const page = { info, closed: false, call: async () => null as never, localModel: () => null, close: async () => { page.closed = true; } };
    pages.push(page);
    return page;
  });
  const measure = vi.fn(async (device: ComputeDevice) => SPEED[device.info.name]);
  return { deps: { openPage: open, measure, facts: () => FACTS, env }, open, measure, pages };
}

const SPEC = { variant: 'mobilevit_xxs' as const, imageSize: 64 };
let engines: EngineDevices[] = [];
const engine = (deps: DeviceDeps) => {
  const e = new EngineDevices(deps);
  engines.push(e);
  return e;
};
afterEach(async () => {
  await Promise.all(engines.map((e) => e.close()));
  engines = [];
});

describe("the engine's device", () => {
  it('opens the page backend the settings name, or says why it cannot and computes in this process', async () => {
    const f = fakes({}, ['webgpu']);
    const e = engine(f.deps);
    const gl = await e.init('webgl');
    expect(gl).toMatchObject({ active: 'webgl', gpu: true, reason: 'webgl: chosen in Settings', device: { name: 'webgl', host: 'headless Chromium 150', adapter: 'ANGLE (NVIDIA)', software: false } });
    const gpu = await e.init('webgpu');
    expect(f.pages[0].closed).toBe(true); // the previous device closes at the next init
    expect(gpu.reason).toBe('webgpu was chosen but cannot start (webgpu has no adapter here): computing on wasm in this process instead');
    expect(gpu.tried[0]).toEqual({ name: 'webgpu', ok: false, detail: 'webgpu has no adapter here' });
    expect(gpu.device).toMatchObject({ name: 'wasm', host: 'this process' });
    expect(await e.forTraining(SPEC)).toBe(await e.current()); // not 'auto': nothing measured
    expect(f.measure).not.toHaveBeenCalled();
  });

  it("'auto' starts in this process, moves to the fastest at the first training, and the next engine reads the file", async () => {
    const dir = tempDir();
    try {
      const file = join(dir.dir, 'device-speeds.json');
      const f = fakes();
      const e = engine(f.deps);
      expect((await e.init('auto', file)).device).toMatchObject({ name: 'wasm', host: 'this process' });
      expect(f.open).not.toHaveBeenCalled(); // nothing measured, no browser, until a training needs it
      const changed = vi.fn();
      const progress = vi.fn();
      const device = await e.forTraining(SPEC, { onChange: changed, onProgress: progress });
      expect(device.info.name).toBe('webgpu');
      expect(f.measure).toHaveBeenCalledTimes(4);
      expect(changed).toHaveBeenCalledWith(expect.objectContaining({ active: 'webgpu', reason: expect.stringMatching(/^auto: webgpu measured fastest: 90\.0 images\/s/) }));
      expect(progress).toHaveBeenCalledWith(4, 4, 'measured wasm-threads');
      expect(f.pages.filter((p) => p.closed).map((p) => p.info.name).sort()).toEqual(['wasm-threads', 'webgl']);
      // The same variant and size again: the open device, with nothing started.
      f.open.mockClear();
      expect(await e.forTraining(SPEC)).toBe(device);
      expect(f.open).not.toHaveBeenCalled();
      const stored = JSON.parse(readFileSync(file, 'utf8'));
      expect(stored.entries[0].table).toMatchObject({ variant: 'mobilevit_xxs', imageSize: 64, chosen: 'webgpu' });

      // A fresh engine on the same machine: the devices start (their adapters are the key), nothing is measured.
      const g = fakes();
      const again = engine(g.deps);
      await again.init('auto', file);
      const reused = await again.forTraining(SPEC);
      expect(reused.info.name).toBe('webgpu');
      expect(g.measure).not.toHaveBeenCalled();
      expect(again.report?.reason).toMatch(/^auto: webgpu measured fastest.*\(measured \d{4}-\d\d-\d\d\)$/);
      // Another GPU: another key, measured again.
      const h = fakes();
      ADAPTER.webgpu = ['AMD Radeon', false];
      try {
        const other = engine(h.deps);
        await other.init('auto', file);
        await other.forTraining(SPEC);
        expect(h.measure).toHaveBeenCalled();
      } finally {
        ADAPTER.webgpu = ['NVIDIA RTX', false];
      }
    } finally {
      dir.remove();
    }
  });

  it('opens wasm-workers from the setting, or says why it cannot and computes on wasm in this process', async () => {
    const f = fakes();
    const w = fakeWorkers();
    const e = engine({ ...f.deps, openWorkers: w.open });
    const report = await e.init('wasm-workers');
    expect(w.open).toHaveBeenCalledTimes(1);
    expect(report).toMatchObject({
      active: 'wasm-workers', gpu: false, reason: 'wasm-workers: chosen in Settings',
      device: { name: 'wasm-workers', host: '2 worker threads of this process', adapter: '2 threads, data parallel', software: false },
    });
    expect(report.tried.at(-1)).toEqual({ name: 'wasm-workers', ok: true, detail: 'in 2 worker threads of this process (2 threads, data parallel)' });
    expect(await e.current()).toBe(w.devices[0]);
    expect(await e.forTraining(SPEC)).toBe(w.devices[0]); // not 'auto': nothing measured, no page started
    expect(f.measure).not.toHaveBeenCalled();
    expect(f.open).not.toHaveBeenCalled();
    await e.init('wasm');
    expect(w.devices[0].closed).toBe(true); // the workers go at the next init

    // An opener that fails: the in-process wasm, saying why.
    const bad = fakeWorkers('a worker thread could not start: no wasm here');
    const g = engine({ ...fakes().deps, openWorkers: bad.open });
    const fell = await g.init('wasm-workers');
    expect(fell.reason).toBe('wasm-workers was chosen but cannot start (a worker thread could not start: no wasm here): computing on wasm in this process instead');
    expect(fell.tried[0]).toEqual({ name: 'wasm-workers', ok: false, detail: 'a worker thread could not start: no wasm here' });
    expect(fell.device).toMatchObject({ name: 'wasm', host: 'this process' });
    expect((await g.current()).info).toMatchObject({ name: 'wasm', host: 'this process' });

    // Without an opener given, the real one (openWorkerDevice) reads the engine's env: a bad MOBILEVIT_WORKERS is why.
    const h = engine(fakes({ MOBILEVIT_WORKERS: 'abc' }).deps);
    const env = await h.init('wasm-workers');
    expect(env.reason).toMatch(/^wasm-workers was chosen but cannot start \(MOBILEVIT_WORKERS must be a whole number from 1 to 256 \(0: off\), got "abc"\): computing on wasm in this process instead$/);
    expect(env.device).toMatchObject({ name: 'wasm', host: 'this process' });
  });

  it("'auto' measures wasm-workers when the engine has its opener, and moves to it when it is the fastest", async () => {
    // Every page starts: webgpu wins; the workers were measured and closed.
    const f = fakes();
    const w = fakeWorkers();
    const e = engine({ ...f.deps, openWorkers: w.open });
    await e.init('auto');
    expect((await e.forTraining(SPEC)).info.name).toBe('webgpu');
    expect(w.open).toHaveBeenCalledTimes(1);
    expect(f.measure).toHaveBeenCalledTimes(5);
    expect(f.measure.mock.calls.map(([d]) => (d as ComputeDevice).info.name)).toContain('wasm-workers');
    expect(w.devices[0].closed).toBe(true);
    const table = await e.measure(SPEC);
    expect(table.rows.find((r) => r.device === 'wasm-workers')).toMatchObject({ host: '2 worker threads of this process', imagesPerSecond: 20, note: null });

    // No page starts: wasm-workers (20 images/s) beats wasm in this process (10).
    const g = fakes({}, ['webgpu', 'webgl', 'wasm-threads']);
    const v = fakeWorkers();
    const changed = vi.fn();
    const other = engine({ ...g.deps, openWorkers: v.open });
    await other.init('auto');
    const device = await other.forTraining(SPEC, { onChange: changed });
    expect(device).toBe(v.devices[0]);
    expect(v.devices[0].closed).toBe(false);
    expect(g.measure).toHaveBeenCalledTimes(2);
    expect(changed).toHaveBeenCalledWith(expect.objectContaining({ active: 'wasm-workers', gpu: false, reason: 'auto: wasm-workers measured fastest: 20.0 images/s (wasm 10.0 images/s)' }));
    expect(other.report?.device).toMatchObject({ name: 'wasm-workers', host: '2 worker threads of this process' });
  });

  it("'auto' lists a worker device that cannot start (a bad MOBILEVIT_WORKERS) as a row that did not start, and measures the rest", async () => {
    const f = fakes();
    const r = await probeDevices('wasm', { ...SPEC, batch: 16 }, { get: () => null, put: () => undefined }, {},
      { ...f.deps, openWorkers: () => openWorkerDevice({ MOBILEVIT_WORKERS: 'abc' }) });
    expect(r.table.rows.find((x) => x.device === 'wasm-workers')).toMatchObject({ imagesPerSecond: null, note: 'did not start: MOBILEVIT_WORKERS must be a whole number from 1 to 256 (0: off), got "abc"' });
    expect(r.table.chosen).toBe('webgpu');
    expect(f.measure).toHaveBeenCalledTimes(4);
    await r.device?.close();
  });

  it("does not measure when MOBILEVIT_BACKEND pins the backend or MOBILEVIT_AUTO_MEASURE is off", async () => {
    for (const env of [{ MOBILEVIT_BACKEND: 'wasm' }, { MOBILEVIT_AUTO_MEASURE: 'off' }]) {
      const f = fakes(env);
      const e = engine(f.deps);
      await e.init('auto');
      expect((await e.forTraining(SPEC)).info.name).toBe('wasm');
      expect(f.open).not.toHaveBeenCalled();
    }
  });

  it('measures on request with another setting, keeping that setting', async () => {
    const f = fakes();
    const e = engine(f.deps);
    await e.init('wasm');
    const table = await e.measure(SPEC);
    expect(table.chosen).toBe('webgpu');
    expect((await e.current()).info.name).toBe('wasm');
    expect(f.pages.every((p) => p.closed)).toBe(true);
  });

  it('keeps the open device when a training stops during the measurement', async () => {
    const f = fakes();
    const controller = new AbortController();
    f.measure.mockImplementation(async (device: ComputeDevice) => {
      controller.abort();
      return SPEED[device.info.name];
    });
    const e = engine(f.deps);
    await e.init('auto');
    const before = await e.current();
    expect(await e.forTraining(SPEC, { signal: controller.signal })).toBe(before);
    expect(f.pages.every((p) => p.closed)).toBe(true);
  });
});
