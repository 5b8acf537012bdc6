// electron/device-window.ts against a stand-in Electron (fixtures/fake-electron.ts): the hidden window's options and
// session, the device page's protocol, the port hand-off to both ends, and the ends of a window (a crash, a failed
// load, the engine closing it or exiting); then main and the engine's opener together, with a scripted page.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEVICE_PORT_MESSAGE, type WindowReply } from '../../src/device/window-messages.ts';
import type { DeviceInfo } from '../../src/device/wire.ts';
import { tempDir, waitFor } from '../engine/fixtures/studio.ts';
import type { EngineDevices } from '../../electron/device-window.ts';
import type { BrowserWindow, FakePortMain } from './fixtures/fake-electron.ts';

vi.mock('electron', () => import('./fixtures/fake-electron.ts'));
const { fake, protocol } = await import('./fixtures/fake-electron.ts');
const { DEVICE_PARTITION, DeviceWindows, allowPageGpu } = await import('../../electron/device-window.ts');
const { WindowDevices } = await import('../../src/engine/window-devices.ts');
const { DeviceLostError } = await import('../../src/device/device.ts');

const tmp = tempDir();
afterAll(() => tmp.remove());
const page = join(tmp.dir, 'dist-device');
mkdirSync(join(page, 'assets'), { recursive: true });
writeFileSync(join(page, 'index.html'), '<!doctype html>');
writeFileSync(join(page, 'assets', 'tfjs-backend-wasm-threaded-simd.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');

const HOST = 'Electron hidden window (Chromium 140)';
const PATHS = { page, preload: '/opt/studio/dist-electron/electron/device-preload.cjs' };
/** Weights cross as a Map of typed arrays (structured clone keeps both). */
const WEIGHTS = new Map([['head.fc.weight', { shape: [2], data: Float32Array.of(1.5, -2) }]]);
const INFO: DeviceInfo = { name: 'webgpu', tfBackend: 'webgpu', host: HOST, adapter: 'test adapter', software: false };

/** An engine as main sees it, recording what main sends it. */
function engineLink() {
  const got: { message: WindowReply; ports: FakePortMain[] }[] = [];
  return {
    got,
    postMessage: (message: unknown, ports: unknown[] = []) => void got.push({ message: message as WindowReply, ports: ports as FakePortMain[] }),
    reply: (type: WindowReply['type']) => waitFor(() => got.find((g) => g.message.type === type), 5000, type),
  };
}

function opened(backend = 'webgpu') {
  const windows = new DeviceWindows(PATHS, HOST);
  const engine = engineLink();
  const devices = windows.serve(engine);
  expect(devices.receive({ type: 'device.open', id: 1, backend })).toBe(true);
  return { windows, engine, devices };
}

const gone = (win: BrowserWindow, reason = 'crashed', exitCode = 139) => win.webContents.emit('render-process-gone', {}, { reason, exitCode });

beforeEach(() => fake.reset());

describe('the hidden device window (main process)', () => {
  it('is hidden, sandboxed, isolated, unthrottled, in its own in-memory session, on app://device/', async () => {
    const { engine } = opened('wasm-threads');
    await engine.reply('device.port');
    expect(fake.windows).toHaveLength(1);
    const win = fake.windows[0];
    expect(win.options.show).toBe(false);
    expect(win.options.webPreferences).toMatchObject({
      sandbox: true, contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, webviewTag: false,
      backgroundThrottling: false, preload: PATHS.preload, session: fake.sessions.get(DEVICE_PARTITION),
    });
    expect(DEVICE_PARTITION).not.toMatch(/^persist:/);
    const url = new URL(win.loaded[0]);
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('app://device/index.html');
    expect(Object.fromEntries(new URLSearchParams(url.hash.slice(1)))).toEqual({ transport: 'port', backend: 'wasm-threads', host: HOST });
  });

  it('denies every permission in its session and refuses navigation and new windows', async () => {
    const { engine } = opened();
    await engine.reply('device.port');
    const s = fake.sessions.get(DEVICE_PARTITION)!;
    const answer = vi.fn();
    s.setPermissionRequestHandler.mock.calls[0][0]({}, 'media', answer);
    expect(answer).toHaveBeenCalledWith(false);
    expect(s.setPermissionCheckHandler.mock.calls[0][0]()).toBe(false);
    const contents = fake.windows[0].webContents;
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const e = { preventDefault: vi.fn() };
      contents.emit(event, e, 'app://device/index.html');
      expect(e.preventDefault, event).toHaveBeenCalled();
    }
    expect(contents.setWindowOpenHandler.mock.calls.at(-1)![0]({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
  });

  it('serves dist-device/ cross-origin isolated with its CSP in its own session only, and nothing outside it', async () => {
    const { engine } = opened();
    await engine.reply('device.port');
    expect(protocol.handle).not.toHaveBeenCalled(); // not in the studio window's (default) session
    const handle = fake.sessions.get(DEVICE_PARTITION)!.handlers.get('app')!;
    const get = (url: string, method = 'GET') => handle({ url, method });
    const index = await get('app://device/index.html');
    expect(index.status).toBe(200);
    expect(index.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(index.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(index.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const csp = index.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval' blob:/);
    expect(csp).toMatch(/worker-src 'self' blob:/);
    expect(csp).toMatch(/connect-src 'self'(;|$)/); // no WebSocket: the engine is reached over the port
    expect(csp).not.toMatch(/'unsafe-eval'/);
    const wasm = await get('app://device/assets/tfjs-backend-wasm-threaded-simd.wasm');
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(Uint8Array.of(0, 0x61, 0x73, 0x6d));
    expect((await get('app://device/index.html', 'HEAD')).status).toBe(200);
    for (const [url, method] of [
      ['app://device/..%2fsecret.txt', 'GET'], ['app://device/%2e%2e/secret.txt', 'GET'], ['app://device/missing.js', 'GET'],
      ['app://studio/index.html', 'GET'], ['app://device/index.html', 'POST'],
    ]) {
      expect((await get(url, method)).status, `${method} ${url}`).toBe(404);
    }
  });

  it('hands one end of a channel to the page once it loaded, and the other to the engine', async () => {
    let loaded!: () => void;
    fake.load = () => new Promise<void>((resolve) => (loaded = resolve));
    const { engine } = opened();
    await waitFor(() => (fake.windows[0]?.loaded.length ? true : undefined));
    expect(fake.windows[0].webContents.posted).toEqual([]); // the page's listener is not there before its load
    expect(engine.got).toEqual([]);
    loaded();
    const { message, ports } = await engine.reply('device.port');
    expect(message).toEqual({ type: 'device.port', id: 1, host: HOST });
    const [{ channel, message: sent, ports: pagePorts }] = fake.windows[0].webContents.posted;
    expect([channel, sent, pagePorts.length]).toEqual([DEVICE_PORT_MESSAGE, null, 1]);
    // The two ends are one channel: what the engine sends, the page gets, typed arrays intact.
    pagePorts[0].start();
    ports[0].start();
    const atPage = new Promise<{ data: unknown }>((resolve) => pagePorts[0].once('message', resolve));
    ports[0].postMessage({ x: Float32Array.of(1.5, -2) });
    const { data } = await atPage;
    expect((data as { x: Float32Array }).x).toEqual(Float32Array.of(1.5, -2));
    const atEngine = new Promise<{ data: unknown }>((resolve) => ports[0].once('message', resolve));
    pagePorts[0].postMessage({ ready: INFO });
    expect((await atEngine).data).toEqual({ ready: INFO });
  });

  it("tells the engine when the window's renderer is gone after the hand-over, and closes the window", async () => {
    const { engine } = opened();
    await engine.reply('device.port');
    const win = fake.windows[0];
    gone(win, 'crashed', 139);
    const { message } = await engine.reply('device.lost');
    expect(message).toEqual({ type: 'device.lost', id: 1, reason: "the hidden window's renderer is gone (crashed, exit code 139)" });
    expect(win.isDestroyed()).toBe(true);
    gone(win, 'killed', 9);
    expect(engine.got).toHaveLength(2); // told once
  });

  it('fails the open when the page does not load or its renderer goes before the hand-over', async () => {
    fake.load = async () => { throw new Error('ERR_FAILED (-2) loading app://device/index.html'); };
    const a = opened();
    expect((await a.engine.reply('device.error')).message).toEqual({ type: 'device.error', id: 1, error: 'the device page did not load: ERR_FAILED (-2) loading app://device/index.html' });
    expect(fake.windows[0].isDestroyed()).toBe(true);
    expect(fake.windows[0].webContents.posted).toEqual([]);

    fake.reset();
    fake.load = (win) => { gone(win, 'oom', 0); return Promise.reject(new Error('ERR_ABORTED')); };
    const b = opened();
    expect((await b.engine.reply('device.error')).message.type).toBe('device.error');
    expect(b.engine.got).toEqual([{ message: { type: 'device.error', id: 1, error: "the hidden window's renderer is gone (oom, exit code 0)" }, ports: [] }]);
  });

  it('says so, without a window, when the device page is not built', async () => {
    const windows = new DeviceWindows({ ...PATHS, page: join(tmp.dir, 'nowhere') }, HOST);
    const engine = engineLink();
    windows.serve(engine).receive({ type: 'device.open', id: 4, backend: 'webgl' });
    expect((await engine.reply('device.error')).message).toMatchObject({ id: 4, error: expect.stringMatching(/not built .*nowhere.*index\.html is missing/) });
    expect(fake.windows).toEqual([]);
  });

  it("closes a window when the engine asks, all of an engine's when it exits, and every one with the studio window", async () => {
    const windows = new DeviceWindows(PATHS, HOST);
    const first = engineLink();
    const second = engineLink();
    const a = windows.serve(first);
    const b = windows.serve(second);
    for (const id of [1, 2]) a.receive({ type: 'device.open', id, backend: 'webgl' });
    for (const id of [1, 2]) b.receive({ type: 'device.open', id, backend: 'webgl' });
    await waitFor(() => (first.got.length === 2 && second.got.length === 2 ? true : undefined));
    const [a1, a2, b1, b2] = fake.windows;
    a.receive({ type: 'device.close', id: 1 });
    expect([a1, a2, b1, b2].map((w) => w.isDestroyed())).toEqual([true, false, false, false]);
    b.close(); // the second engine exited
    expect([a1, a2, b1, b2].map((w) => w.isDestroyed())).toEqual([true, false, true, true]);
    windows.closeAll();
    expect(a2.isDestroyed()).toBe(true);
  });

  it("takes the engine's device messages only, dropping malformed ones", () => {
    const windows = new DeviceWindows(PATHS, HOST);
    const devices = windows.serve(engineLink());
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(devices.receive({ type: 'ready', pid: 1 })).toBe(false);
    expect(devices.receive({ type: 'reply', id: 1, ok: true, result: null })).toBe(false);
    expect(devices.receive({ type: 'device.open', id: 1, backend: 'cuda' })).toBe(true);
    expect(devices.receive({ type: 'device.open', id: -1, backend: 'webgl' })).toBe(true);
    expect(error).toHaveBeenCalledTimes(2);
    expect(fake.windows).toEqual([]);
    error.mockRestore();
  });

  it('unlocks WebGPU on Linux only, as headless Chromium does', () => {
    const linux = { appendSwitch: vi.fn() };
    allowPageGpu(linux, 'linux');
    expect(linux.appendSwitch).toHaveBeenCalledWith('enable-unsafe-webgpu');
    const mac = { appendSwitch: vi.fn() };
    allowPageGpu(mac, 'darwin');
    expect(mac.appendSwitch).not.toHaveBeenCalled();
  });
});

/** Main's DeviceWindows and the engine's WindowDevices wired as Electron wires them, each message cloned and late. */
function mainAndEngine(timeoutMs = 5000) {
  const windows = new DeviceWindows(PATHS, HOST);
  let main!: EngineDevices;
  const engine = new WindowDevices((m) => setImmediate(() => main.receive(structuredClone(m))), timeoutMs);
  main = windows.serve({ postMessage: (m, ports = []) => setImmediate(() => engine.receive(structuredClone(m), ports)) });
  return { windows, engine };
}

/** A page that says `hello`, answers weights with WEIGHTS and close, and nothing else (a trainer-state call stays pending). */
function scriptedPage(hello: unknown) {
  return (port: FakePortMain) => {
    port.on('message', ({ data }: { data: { id: number; op: string } }) => {
      if (data.op === 'weights') port.postMessage({ id: data.id, ok: true, result: WEIGHTS });
      if (data.op === 'close') port.postMessage({ id: data.id, ok: true, result: null });
    });
    port.start(); // a DOM port starts when it gets onmessage
    port.postMessage(hello);
  };
}

describe('main and the engine together', () => {
  it('open a working device; closing it closes the window', async () => {
    fake.page = scriptedPage({ ready: INFO });
    const { engine } = mainAndEngine();
    const device = await engine.open('webgpu');
    expect(device.info).toEqual(INFO);
    const out = await device.call({ op: 'weights', weights: 'averaged' });
    expect(out.get('head.fc.weight')!.data).toBeInstanceOf(Float32Array);
    expect(out).toEqual(WEIGHTS);
    expect(fake.windows[0].isDestroyed()).toBe(false);
    await device.close();
    await waitFor(() => (fake.windows[0].isDestroyed() ? true : undefined), 5000, 'the window to close');
  });

  it("reject with the page's reason when its backend cannot start, and close the window", async () => {
    fake.page = scriptedPage({ failed: 'this browser has no WebGPU (navigator.gpu is missing)' });
    const { engine } = mainAndEngine();
    await expect(engine.open('webgpu')).rejects.toThrow(`webgpu cannot be used in ${HOST}: this browser has no WebGPU (navigator.gpu is missing)`);
    await waitFor(() => (fake.windows[0].isDestroyed() ? true : undefined), 5000, 'the window to close');
  });

  it('fail a pending call with a clear message when the renderer crashes', async () => {
    fake.page = scriptedPage({ ready: INFO });
    const { engine } = mainAndEngine();
    const device = await engine.open('webgpu');
    const pending = device.call({ op: 'trainer-state' });
    gone(fake.windows[0], 'crashed', 139);
    await expect(pending).rejects.toThrow(DeviceLostError);
    await expect(pending).rejects.toThrow(`the webgpu device (${HOST}) was lost during trainer-state: the hidden window's renderer is gone (crashed, exit code 139)`);
    await expect(device.call({ op: 'info' })).rejects.toThrow(DeviceLostError);
  });

  it('fail a pending call when the page closes its port (its renderer died before main heard)', async () => {
    let pagePort!: FakePortMain;
    fake.page = (port) => { pagePort = port; scriptedPage({ ready: INFO })(port); };
    const { engine } = mainAndEngine();
    const device = await engine.open('webgl');
    const pending = device.call({ op: 'trainer-state' });
    pagePort.close();
    await expect(pending).rejects.toThrow("lost during trainer-state: the hidden window's port closed");
  });
});
