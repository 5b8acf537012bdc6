// The engine's one compute device (src/engine/devices.ts) with fake page devices and made-up speeds: the
// setting's device at init (a page that cannot start leaves the in-process backend, saying why), 'auto' moving
// to the measured winner at the first training and answering from the speeds file in a later engine, and the
// switches that keep 'auto' from measuring.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PageBackend } from '../../src/backend/names.ts';
import type { ComputeDevice } from '../../src/device/device.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import { EngineDevices, type DeviceDeps } from '../../src/engine/devices.ts';
import { tempDir } from './fixtures/studio.ts';

const FACTS = { studio: 'test', tfjs: 'test', platform: 'test', cpu: 'test', cores: 2 };
const SPEED: Record<string, number> = { wasm: 10, 'wasm-threads': 40, webgpu: 90, webgl: 50 };
const ADAPTER: Record<PageBackend, [string, boolean]> = { webgpu: ['NVIDIA RTX', false], webgl: ['ANGLE (NVIDIA)', false], 'wasm-threads': ['4 thread(s), SIMD', false] };

interface Fakes { deps: DeviceDeps; open: ReturnType<typeof vi.fn>; measure: ReturnType<typeof vi.fn>; pages: (ComputeDevice & { closed: boolean })[] }

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
