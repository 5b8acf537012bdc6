// The one device choice (src/device/choice.ts) behind both the CLI and the studio: the CLI's `train` device
// (cli/common.ts setupDevice) and the engine's (engine/devices.ts EngineDevices) go through chooseDevice with
// the same host, so `auto` means the same there: the device measured fastest for the variant and size, measured
// once per machine and read back from the speeds file by the other. Made-up speeds, fake devices: no browser,
// no worker thread, no measurement of this machine.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chooseDevice, parseDeviceChoice, type DeviceDeps } from '../../src/device/choice.ts';
import type { ComputeDevice } from '../../src/device/device.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import { setupDevice } from '../../src/cli/common.ts';
import { DEVICE_SPEEDS_FILE } from '../../src/device/speed-file.ts';
import { EngineDevices } from '../../src/engine/devices.ts';
import { tempDir } from '../engine/fixtures/studio.ts';

const FACTS = { studio: 'test', tfjs: 'test', platform: 'test', cpu: 'test', cores: 2 };
const SPEED: Record<string, number> = { wasm: 10, 'wasm-workers': 20 };
const SPEC = { variant: 'mobilevit_xxs' as const, imageSize: 64 };

/** No page starts here; the workers (a fake of 2 threads) measure twice as fast as wasm in this process. */
function host(env: Record<string, string | undefined>) {
  const opened: (ComputeDevice & { closed: boolean })[] = [];
  const openWorkers = vi.fn(async () => {
    const info: DeviceInfo = { name: 'wasm-workers', tfBackend: 'wasm', host: '2 worker threads of this process', adapter: '2 threads, data parallel', software: false, threads: 2, workers: 2 };
    const device = { info, closed: false, call: async () => null as never, localModel: () => null, close: async () => { device.closed = true; } };
    opened.push(device);
    return device;
  });
  const openPage = vi.fn(async (backend: string): Promise<ComputeDevice> => { throw new Error(`${backend}: no browser in this test`); });
  const measure = vi.fn(async (device: ComputeDevice) => SPEED[device.info.name]);
  const deps: DeviceDeps = { env, openPage, openWorkers, measure, facts: () => FACTS };
  return { deps, openWorkers, openPage, measure, opened };
}

const closing: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((d) => d.close()));
});

describe('one device choice for the CLI and the studio', () => {
  it("the CLI's train measures once, says so on its device line, and the studio reads the same table and takes the same device", async () => {
    const dir = tempDir();
    try {
      const env = { MOBILEVIT_WORKSPACE: dir.dir };
      const cli = host(env);
      const lines: string[] = [];
      const chosen = await setupDevice({}, { out: () => undefined, err: (l) => void lines.push(l) }, { training: SPEC, deps: cli.deps });
      closing.push(chosen.device);
      expect(chosen.device.info.name).toBe('wasm-workers');
      expect(cli.measure).toHaveBeenCalledTimes(2); // wasm here and the workers; the pages did not start
      expect(lines.at(-1)).toBe('device: wasm-workers in 2 worker threads of this process (2 threads, data parallel) — auto: wasm-workers measured fastest: 20.0 images/s (wasm 10.0 images/s)');
      const file = join(dir.dir, DEVICE_SPEEDS_FILE);
      expect(JSON.parse(readFileSync(file, 'utf8')).entries[0].table).toMatchObject({ variant: 'mobilevit_xxs', imageSize: 64, chosen: 'wasm-workers' });

      // The studio's engine on the same machine: the same choice, answered from the file the CLI wrote.
      const studio = host(env);
      const engine = new EngineDevices(studio.deps);
      closing.push(engine);
      expect((await engine.init('auto', file)).device).toMatchObject({ name: 'wasm', host: 'this process' });
      const device = await engine.forTraining(SPEC);
      expect(device.info.name).toBe('wasm-workers');
      expect(studio.measure).not.toHaveBeenCalled();
      expect(engine.report?.reason).toMatch(/^auto: wasm-workers measured fastest: 20\.0 images\/s \(wasm 10\.0 images\/s\) \(measured \d{4}-\d\d-\d\d\)$/);

      // And the CLI again, as a second run would: nothing measured.
      const again = host(env);
      const second = await setupDevice({}, { out: () => undefined, err: () => undefined }, { training: SPEC, deps: again.deps });
      closing.push(second.device);
      expect(second.device.info.name).toBe('wasm-workers');
      expect(again.measure).not.toHaveBeenCalled();
    } finally {
      dir.remove();
    }
  });

  it('measures nothing and starts no device where measuring is off, or for work that is not a training', async () => {
    const dir = tempDir();
    try {
      for (const env of [{ MOBILEVIT_WORKSPACE: dir.dir, MOBILEVIT_AUTO_MEASURE: 'off' }, { MOBILEVIT_WORKSPACE: dir.dir, MOBILEVIT_BACKEND: 'wasm' }]) {
        const h = host(env);
        const chosen = await setupDevice({}, { out: () => undefined, err: () => undefined }, { training: SPEC, deps: h.deps });
        expect(chosen.device.info).toMatchObject({ name: 'wasm', host: 'this process' });
        expect(h.measure).not.toHaveBeenCalled();
        expect(h.openWorkers).not.toHaveBeenCalled();
        expect(h.openPage).not.toHaveBeenCalled();
      }
      const h = host({ MOBILEVIT_WORKSPACE: dir.dir });
      const inference = await chooseDevice(undefined, { deps: h.deps });
      expect(inference).toMatchObject({ reason: 'auto: the fastest in-process backend', table: null });
      expect(h.openWorkers).not.toHaveBeenCalled();
      expect(existsSync(join(dir.dir, DEVICE_SPEEDS_FILE))).toBe(false);
    } finally {
      dir.remove();
    }
  });

  it('names: --backend, else MOBILEVIT_BACKEND, else auto; an unknown one is one line naming where it came from', async () => {
    expect(parseDeviceChoice(undefined, {})).toBe('auto');
    expect(parseDeviceChoice(' WebGPU ', { MOBILEVIT_BACKEND: 'wasm' })).toBe('webgpu');
    expect(parseDeviceChoice(undefined, { MOBILEVIT_BACKEND: 'wasm-workers' })).toBe('wasm-workers');
    expect(() => parseDeviceChoice('metal', {})).toThrow(/^unknown backend "metal": valid names are tensorflow-gpu, .*, auto$/);
    expect(() => parseDeviceChoice(undefined, { MOBILEVIT_BACKEND: 'metal' })).toThrow(/^unknown MOBILEVIT_BACKEND "metal"/);
    // A named page that cannot start: the CLI gets its error, the studio the in-process backend and why.
    const h = host({});
    await expect(chooseDevice('webgl', { deps: h.deps })).rejects.toThrow('webgl: no browser in this test');
    const fell = await chooseDevice('webgl', { deps: h.deps, orInProcess: true });
    expect(fell).toMatchObject({ failed: 'webgl: no browser in this test', device: { info: { host: 'this process' } } });
  });
});
