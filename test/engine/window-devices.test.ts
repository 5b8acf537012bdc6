// The Electron engine's page opener against a scripted main process (no Electron): what it asks main for, the
// answers it takes, and that the device choice opens its pages through it when it is handed in as the opener.
import { describe, expect, it } from 'vitest';
import { chooseDevice } from '../../src/device/choice.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import type { WindowRequest } from '../../src/device/window-messages.ts';
import { WindowDevices } from '../../src/engine/window-devices.ts';
import { MessageChannelMain, type FakePortMain } from '../electron/fixtures/fake-electron.ts';
import { waitFor } from './fixtures/studio.ts';

const INFO: DeviceInfo = { name: 'webgl', tfBackend: 'webgl', host: 'Electron hidden window (Chromium 140)', adapter: 'ANGLE (test)', software: false };
const HOST = INFO.host;

/** The engine's side with every message it posts to main recorded. */
function engine(timeoutMs = 5000) {
  const posted: WindowRequest[] = [];
  const devices = new WindowDevices((m) => void posted.push(m), timeoutMs);
  const asked = (type: WindowRequest['type']) => waitFor(() => posted.find((m) => m.type === type), 5000, type);
  return { devices, posted, asked };
}

/** Main's answer with a port; returns the page's end. */
function handOver(devices: WindowDevices, id: number): FakePortMain {
  const { port1, port2 } = new MessageChannelMain();
  expect(devices.receive({ type: 'device.port', id, host: HOST }, [port2])).toBe(true);
  return port1;
}

describe("the Electron engine's hidden-window devices", () => {
  it('asks main for a window and becomes a device when the page says ready', async () => {
    const e = engine();
    const opening = e.devices.open('webgl');
    expect(await e.asked('device.open')).toEqual({ type: 'device.open', id: 1, backend: 'webgl' });
    handOver(e.devices, 1).postMessage({ ready: INFO });
    const device = await opening;
    expect(device.info).toEqual(INFO);
    expect(e.posted.some((m) => m.type === 'device.close')).toBe(false);
  });

  it("rejects with main's reason when there is no window, and with the page's when it cannot start", async () => {
    const e = engine();
    const none = e.devices.open('webgpu');
    await e.asked('device.open');
    e.devices.receive({ type: 'device.error', id: 1, error: 'the compute device page is not built' }, []);
    await expect(none).rejects.toThrow('cannot open a webgpu device in a hidden window: the compute device page is not built');
    expect(e.posted.at(-1)).toEqual({ type: 'device.close', id: 1 });

    const failing = e.devices.open('webgpu');
    await waitFor(() => (e.posted.length === 3 ? true : undefined));
    handOver(e.devices, 2).postMessage({ failed: 'WebGPU has no adapter on this machine' });
    await expect(failing).rejects.toThrow(`webgpu cannot be used in ${HOST}: WebGPU has no adapter on this machine`);
    expect(e.posted.at(-1)).toEqual({ type: 'device.close', id: 2 }); // main closes the window
  });

  it('gives up on a window that does not load in time, and lets a late port go', async () => {
    const e = engine(50);
    await expect(e.devices.open('wasm-threads')).rejects.toThrow('cannot open a wasm-threads device in a hidden window: wasm-threads in a hidden window did not start: no progress for 0.05 s (while loading the hidden window');
    expect(e.posted.at(-1)).toEqual({ type: 'device.close', id: 1 });
    const page = handOver(e.devices, 1);
    await new Promise<void>((resolve) => page.once('close', resolve)); // the engine closed its end
  });

  it("fails a pending call with main's word that the window's renderer is gone", async () => {
    const e = engine();
    const opening = e.devices.open('webgl');
    await e.asked('device.open');
    handOver(e.devices, 1).postMessage({ ready: INFO });
    const device = await opening;
    const pending = device.call({ op: 'trainer-state' });
    e.devices.receive({ type: 'device.lost', id: 1, reason: "the hidden window's renderer is gone (oom, exit code 0)" }, []);
    await expect(pending).rejects.toThrow("lost during trainer-state: the hidden window's renderer is gone (oom, exit code 0)");
  });

  it("takes main's device messages only; the service's pass on", () => {
    const e = engine();
    expect(e.devices.receive({ type: 'call', id: 1, method: 'init', params: {} }, [])).toBe(false);
    expect(e.devices.receive({ type: 'reply', id: 1, ok: true, result: null }, [])).toBe(false);
    expect(e.devices.receive(null, [])).toBe(false);
    expect(e.devices.receive({ type: 'device.port', id: 9 }, [])).toBe(true); // malformed (no host): dropped, not the service's
  });

  it('opens the pages of the device choice when handed in as its opener', async () => {
    const posted: WindowRequest[] = [];
    const devices = new WindowDevices((m) => void posted.push(m));
    const deps = { env: {}, openPage: devices.open.bind(devices), facts: () => { throw new Error('not measured'); }, measure: async () => { throw new Error('not measured'); } };
    const opening = chooseDevice('webgl', { deps });
    const ask = await waitFor(() => posted[0], 10_000, 'device.open');
    expect(ask).toEqual({ type: 'device.open', id: 1, backend: 'webgl' });
    handOver(devices, 1).postMessage({ ready: INFO });
    const { device } = await opening;
    expect(device.info.host).toBe(HOST);
  });
});
