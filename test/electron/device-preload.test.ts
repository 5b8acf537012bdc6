// The hidden device window's preload: it passes the port main sends on to the page, and nothing else. Checked
// from source (electron mocked) and as the bundle Electron loads: a sandboxed preload can require only
// 'electron', so each bundled preload must be one self-contained file.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { build } from 'vite';
import { DEVICE_PORT_MESSAGE } from '../../src/device/window-messages.ts';
import { tempDir } from '../engine/fixtures/studio.ts';

const listeners = new Map<string, (event: { ports: unknown[] }) => void>();
const ipcRenderer = { on: vi.fn((channel: string, fn: (event: { ports: unknown[] }) => void) => void listeners.set(channel, fn)) };
vi.mock('electron', () => ({ ipcRenderer, contextBridge: { exposeInMainWorld: vi.fn() } }));

const tmp = tempDir();
afterAll(() => tmp.remove());

/** Stands in for the page's window: what the preload posts to it. */
function fakeWindow() {
  return { postMessage: vi.fn() };
}

describe('the device preload', () => {
  it("forwards main's port into the page with the message the page waits for, and exposes nothing", async () => {
    const win = fakeWindow();
    vi.stubGlobal('window', win);
    const { contextBridge } = await import('electron');
    await import('../../electron/device-preload.ts');
    expect([...listeners.keys()]).toEqual([DEVICE_PORT_MESSAGE]);
    const port = { the: 'port' };
    listeners.get(DEVICE_PORT_MESSAGE)!({ ports: [port] });
    expect(win.postMessage).toHaveBeenCalledWith(DEVICE_PORT_MESSAGE, '*', [port]);
    expect(contextBridge.exposeInMainWorld).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
  });

  it('the page waits for that same message (one constant, not two strings)', () => {
    const entry = readFileSync(new URL('../../src/device/page/entry.ts', import.meta.url), 'utf8');
    expect(entry).toMatch(/import \{ DEVICE_PORT_MESSAGE \} from '\.\.\/window-messages\.ts'/);
    expect(entry).toMatch(/e\.data !== DEVICE_PORT_MESSAGE/);
  });

  it('bundles into self-contained files that require only electron, and the bundle forwards the port', async () => {
    const outDir = join(tmp.dir, 'preloads');
    await build({ configFile: new URL('../../electron/vite.preload.config.ts', import.meta.url).pathname, logLevel: 'silent', build: { outDir } });
    expect(readdirSync(outDir).sort()).toEqual(['device-preload.cjs', 'preload.cjs']);
    for (const file of readdirSync(outDir)) {
      const code = readFileSync(join(outDir, file), 'utf8');
      expect([...code.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1]), file).toEqual(['"electron"']);
    }
    // Run the device preload's bundle as Electron's sandbox would: require gives only electron.
    const on = new Map<string, (event: { ports: unknown[] }) => void>();
    const electron = { ipcRenderer: { on: (channel: string, fn: (event: { ports: unknown[] }) => void) => void on.set(channel, fn) } };
    const win = fakeWindow();
    const module = { exports: {} };
    new Function('require', 'window', 'module', 'exports', readFileSync(join(outDir, 'device-preload.cjs'), 'utf8'))(
      (name: string) => (name === 'electron' ? electron : undefined), win, module, module.exports,
    );
    on.get(DEVICE_PORT_MESSAGE)!({ ports: ['port'] });
    expect(win.postMessage).toHaveBeenCalledWith(DEVICE_PORT_MESSAGE, '*', ['port']);
  });
});
