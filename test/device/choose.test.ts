// 'auto' by measurement without Chromium or tfjs: the choice rule and the software-only-GPU rule on made-up
// timings, and the orchestration (auto.ts) on fake devices: the store, skipped and failed devices, which
// devices stay open, cancellation.
import { describe, expect, it, vi } from 'vitest';
import { chooseByMeasurement, type Candidate } from '../../src/device/auto.ts';
import {
  MeasureCancelled, PREFERENCE_MARGIN, SOFTWARE_ONLY_GPU_NOTE, chooseFastest, softwareOnlyGpuRule, speedKey,
  type MachineFacts, type SpeedStore,
} from '../../src/device/choose.ts';
import type { ComputeDevice } from '../../src/device/device.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import type { DeviceSpeed, DeviceSpeeds } from '../../src/protocol/contract.ts';

const row = (device: string, imagesPerSecond: number | null, more: Partial<DeviceSpeed> = {}): DeviceSpeed => ({
  device, host: device === 'wasm' || device === 'tensorflow' ? 'this process' : 'headless Chromium 150', adapter: null, software: false, imagesPerSecond, note: null, ...more,
});

describe('the choice rule', () => {
  it('takes the fastest measured device, and says what it beat', () => {
    const r = chooseFastest([row('wasm', 10), row('webgpu', 80), row('wasm-threads', 25), row('webgl', null, { note: 'failed: lost' })]);
    expect(r).toEqual({ chosen: 'webgpu', reason: 'webgpu measured fastest: 80.0 images/s (wasm 10.0 images/s, wasm-threads 25.0 images/s)' });
  });

  it('keeps the in-process device over a page that is faster by less than the margin', () => {
    const barely = 10 * (1 + PREFERENCE_MARGIN) - 0.01;
    expect(chooseFastest([row('wasm', 10), row('wasm-threads', barely)])?.chosen).toBe('wasm');
    expect(chooseFastest([row('wasm', 10), row('wasm-threads', barely)])?.reason).toMatch(/within 10 % of the fastest, wasm-threads .* needs no browser/);
    expect(chooseFastest([row('wasm', 10), row('wasm-threads', 10 * (1 + PREFERENCE_MARGIN) + 0.01)])?.chosen).toBe('wasm-threads');
  });

  it('never takes a software adapter over a faster CPU path, nor over one within the margin', () => {
    const software = { software: true, adapter: 'swiftshader / google' };
    expect(chooseFastest([row('wasm', 10), row('wasm-threads', 30), row('webgpu', 20, software)])?.chosen).toBe('wasm-threads');
    expect(chooseFastest([row('wasm-threads', 30), row('webgpu', 32, software)])).toMatchObject({ chosen: 'wasm-threads', reason: expect.stringMatching(/not a software adapter/) });
    // Clearly faster, it wins, and the table still labels it software.
    expect(chooseFastest([row('wasm', 10), row('webgpu', 40, software)])?.chosen).toBe('webgpu');
  });

  it('has no answer when nothing was measured', () => {
    expect(chooseFastest([row('wasm', null), row('webgpu', null)])).toBeNull();
  });
});

const info = (name: string, tfBackend: string, software = false, adapter: string | null = null): DeviceInfo => ({
  name, tfBackend, host: name === 'wasm' ? 'this process' : 'headless Chromium 150', adapter, software,
});

describe('the software-only-GPU rule', () => {
  it('skips every GPU device when every GPU adapter is software, saying why', () => {
    const skips = softwareOnlyGpuRule([info('wasm', 'wasm'), info('webgpu', 'webgpu', true), info('webgl', 'webgl', true), info('wasm-threads', 'wasm')]);
    expect([...skips.keys()]).toEqual(['webgpu', 'webgl']);
    expect(skips.get('webgpu')).toBe(SOFTWARE_ONLY_GPU_NOTE);
  });

  it('measures them all when one adapter is hardware, and skips nothing without GPUs', () => {
    expect(softwareOnlyGpuRule([info('webgpu', 'webgpu', false), info('webgl', 'webgl', true)]).size).toBe(0);
    expect(softwareOnlyGpuRule([info('wasm', 'wasm'), info('wasm-threads', 'wasm')]).size).toBe(0);
  });
});

const FACTS: MachineFacts = { studio: '0.1.0', tfjs: '4.22.0', platform: 'linux-x64', cpu: 'Test CPU', cores: 8 };
const SPEC = { variant: 'mobilevit_xxs' as const, imageSize: 64, batch: 4 };

describe('the key of a stored measurement', () => {
  it('changes with the adapter, the browser, a page that starts, the versions, the variant and the size', () => {
    const base = [{ name: 'wasm', info: info('wasm', 'wasm') }, { name: 'webgpu', info: info('webgpu', 'webgpu', false, 'NVIDIA RTX') }];
    const k = speedKey(FACTS, SPEC, base);
    expect(speedKey(FACTS, SPEC, base)).toBe(k);
    const variants = [
      speedKey(FACTS, SPEC, [base[0], { name: 'webgpu', info: info('webgpu', 'webgpu', false, 'AMD Radeon') }]),
      speedKey(FACTS, SPEC, [base[0], { name: 'webgpu', info: { ...base[1].info, host: 'headless Chromium 151' } }]),
      speedKey(FACTS, SPEC, [base[0], { name: 'webgpu', info: null }]),
      speedKey({ ...FACTS, studio: '0.2.0' }, SPEC, base),
      speedKey({ ...FACTS, tfjs: '4.23.0' }, SPEC, base),
      speedKey(FACTS, { ...SPEC, variant: 'mobilevit_s' }, base),
      speedKey(FACTS, { ...SPEC, imageSize: 128 }, base),
    ];
    expect(new Set([k, ...variants]).size).toBe(variants.length + 1);
  });
});

/** A device that measures at `ips` (or throws it), and records whether it was closed. */
function fake(i: DeviceInfo, ips: number | Error | (() => Promise<number>)) {
  const device: ComputeDevice & { closed: boolean; ips: typeof ips } = {
    info: i, closed: false, ips,
    call: async () => { throw new Error('not used: measure is injected'); },
    localModel: () => null,
    close: async () => { device.closed = true; },
  };
  return device;
}

type Fake = ReturnType<typeof fake>;
const candidate = (d: Fake | Error): Candidate => ({ name: d instanceof Error ? 'webgl' : d.info.name, open: async () => { if (d instanceof Error) throw d; return d; } });
const mapStore = () => {
  const m = new Map<string, DeviceSpeeds>();
  const store: SpeedStore & { m: typeof m } = { m, get: (k) => m.get(k) ?? null, put: (k, t) => void m.set(k, t) };
  return store;
};
const measure = vi.fn(async (d: ComputeDevice) => {
  const ips = (d as Fake).ips;
  if (ips instanceof Error) throw ips;
  return typeof ips === 'function' ? ips() : ips;
});
const options = (candidates: Candidate[], store = mapStore()) => ({ spec: SPEC, facts: FACTS, candidates, store, measure, now: () => 1234 });

describe('choosing by measurement', () => {
  it('measures each device that started, stores the table, keeps the winner open and closes the rest', async () => {
    const wasm = fake(info('wasm', 'wasm'), 10);
    const threads = fake(info('wasm-threads', 'wasm', false, '8 thread(s), SIMD'), 30);
    const gpu = fake(info('webgpu', 'webgpu', false, 'NVIDIA RTX'), 90);
    const store = mapStore();
    const progress: string[] = [];
    const r = await chooseByMeasurement({ ...options([candidate(wasm), candidate(gpu), candidate(new Error('no WebGL2 here')), candidate(threads)], store), onProgress: (_d, _t, l) => progress.push(l) });
    expect(r.device).toBe(gpu);
    expect(r.cached).toBe(false);
    expect(r.table).toMatchObject({ variant: 'mobilevit_xxs', imageSize: 64, batch: 4, measuredAt: 1234, chosen: 'webgpu' });
    expect(r.table.rows.map((x) => [x.device, x.imagesPerSecond, x.note])).toEqual([
      ['wasm', 10, null], ['webgpu', 90, null], ['webgl', null, 'did not start: no WebGL2 here'], ['wasm-threads', 30, null],
    ]);
    expect(progress).toContain('measuring webgpu (2 of 3)');
    expect([wasm.closed, threads.closed, gpu.closed]).toEqual([true, true, false]);
    expect(store.m.size).toBe(1);
  });

  it('answers from the store on the same machine without measuring, and measures again when asked', async () => {
    const make = () => [fake(info('wasm', 'wasm'), 10), fake(info('wasm-threads', 'wasm', false, '8 thread(s)'), 30)];
    const store = mapStore();
    await chooseByMeasurement(options(make().map(candidate), store));
    measure.mockClear();
    const again = make();
    const r = await chooseByMeasurement(options(again.map(candidate), store));
    expect(measure).not.toHaveBeenCalled();
    expect(r).toMatchObject({ cached: true, device: again[1] });
    expect(again[0].closed).toBe(true);
    await chooseByMeasurement({ ...options(make().map(candidate), store), remeasure: true });
    expect(measure).toHaveBeenCalledTimes(2);
  });

  it('skips software GPU adapters when they are the only ones, and picks from the CPU paths', async () => {
    const gpu = fake(info('webgpu', 'webgpu', true, 'swiftshader / google'), 1000);
    const wasm = fake(info('wasm', 'wasm'), 10);
    const threads = fake(info('wasm-threads', 'wasm', false, '2 thread(s)'), 10.5);
    measure.mockClear();
    const r = await chooseByMeasurement(options([candidate(wasm), candidate(gpu), candidate(threads)]));
    expect(measure).toHaveBeenCalledTimes(2);
    expect(r.table.rows[1]).toMatchObject({ device: 'webgpu', software: true, imagesPerSecond: null, note: SOFTWARE_ONLY_GPU_NOTE });
    expect(r.device).toBe(wasm); // 10.5 is within the margin of 10: no browser needed
    expect(gpu.closed).toBe(true);
    // Asked to, it measures them too (and the software adapter, clearly faster here, wins).
    const forced = await chooseByMeasurement({ ...options([candidate(fake(wasm.info, 10)), candidate(fake(gpu.info, 1000))]), measureSoftware: true });
    expect(forced.table.chosen).toBe('webgpu');
  });

  it('does not measure a lone device unless asked, and notes a failed measurement', async () => {
    measure.mockClear();
    const lone = await chooseByMeasurement(options([candidate(fake(info('wasm', 'wasm'), 10)), candidate(new Error('no Chromium'))]));
    expect(measure).not.toHaveBeenCalled();
    expect(lone.table).toMatchObject({ chosen: 'wasm', reason: 'wasm: the only device to measure here' });
    const failed = await chooseByMeasurement(options([candidate(fake(info('wasm', 'wasm'), 10)), candidate(fake(info('wasm-threads', 'wasm'), new Error('the page crashed\nstack')))]));
    expect(failed.table.rows[1]).toMatchObject({ imagesPerSecond: null, note: 'failed: the page crashed' });
    expect(failed.table.chosen).toBe('wasm');
  });

  it('stops at once when cancelled while the devices start, closing each as it comes up', async () => {
    const controller = new AbortController();
    let up!: () => void;
    const slow = fake(info('webgpu', 'webgpu', false, 'NVIDIA RTX'), 90);
    const late: Candidate = { name: 'webgpu', open: () => new Promise((r) => { up = () => r(slow); }) };
    const pending = chooseByMeasurement({ ...options([candidate(fake(info('wasm', 'wasm'), 10)), late]), signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(MeasureCancelled);
    up();
    await vi.waitFor(() => expect(slow.closed).toBe(true));
  });

  it('stops when cancelled mid-measurement, closing every device, page ones first, and stores nothing', async () => {
    const controller = new AbortController();
    const order: string[] = [];
    let finishLocal!: (v: number) => void;
    const wasm = fake(info('wasm', 'wasm'), () => new Promise<number>((r) => { finishLocal = r; controller.abort(); }));
    const threads = fake(info('wasm-threads', 'wasm'), 30);
    for (const d of [wasm, threads]) d.close = async () => { d.closed = true; order.push(d.info.name); };
    const store = mapStore();
    const pending = chooseByMeasurement({ ...options([candidate(wasm), candidate(threads)], store), signal: controller.signal });
    await vi.waitFor(() => expect(order).toEqual(['wasm-threads']));
    // The in-process step runs to its end before its device is closed.
    expect(wasm.closed).toBe(false);
    finishLocal(10);
    await expect(pending).rejects.toBeInstanceOf(MeasureCancelled);
    expect(order).toEqual(['wasm-threads', 'wasm']);
    expect(store.m.size).toBe(0);
  });
});
