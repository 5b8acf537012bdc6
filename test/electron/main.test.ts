// electron/main.ts against a mocked Electron: the window's options, every IPC channel wired through
// the service with validation, the app protocol, permissions, and the close guard.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { REQUEST_NAMES, requestChannel, EVENT_CHANNEL } from '../../src/protocol/names.ts';
import { tempDir, waitFor } from '../engine/fixtures/studio.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { join } from 'node:path';

const tmp = tempDir();
process.env.MOBILEVIT_WORKSPACE = tmp.dir;
afterAll(() => tmp.remove());

const m = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, params: unknown) => Promise<unknown>>();
  const windows: any[] = [];
  return { handlers, windows, schemes: [] as unknown[], protocolHandlers: [] as string[], loaded: [] as string[], switches: [] as string[] };
});

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events');
  const app = Object.assign(new EventEmitter(), {
    requestSingleInstanceLock: () => true,
    whenReady: () => Promise.resolve(),
    getAppPath: () => '/opt/studio',
    quit: vi.fn(),
    commandLine: { appendSwitch: (s: string) => m.switches.push(s) },
  });
  class BrowserWindow extends EventEmitter {
    webContents = Object.assign(new EventEmitter(), { send: vi.fn(), isDestroyed: () => false, setWindowOpenHandler: vi.fn() });
    constructor(readonly options: any) {
      super();
      m.windows.push(this);
    }
    show = vi.fn();
    close = vi.fn();
    loadURL = vi.fn(async (url: string) => void m.loaded.push(url));
  }
  return {
    app,
    BrowserWindow,
    ipcMain: { handle: (ch: string, fn: any) => m.handlers.set(ch, fn), removeHandler: (ch: string) => m.handlers.delete(ch) },
    session: { defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn() } },
    protocol: { registerSchemesAsPrivileged: (s: unknown[]) => m.schemes.push(...s), handle: (scheme: string) => m.protocolHandlers.push(scheme) },
    dialog: { showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/picked/folder'] })), showMessageBox: vi.fn() },
    shell: { openExternal: vi.fn() },
    utilityProcess: { fork: vi.fn() },
  };
});

await import('../../electron/main.ts');
await waitFor(() => (m.loaded.length ? true : undefined), 5000, 'the window to load');
const win = m.windows[0];
const fromApp = { senderFrame: { url: 'app://studio/index.html' } };

describe('electron main', () => {
  it('opens one secure window on the app protocol', () => {
    expect(m.windows).toHaveLength(1);
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false,
      preload: '/opt/studio/dist-electron/electron/preload.cjs',
    });
    expect(m.loaded).toEqual(['app://studio/index.html']);
    expect(m.schemes).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    expect(m.protocolHandlers).toEqual(['app']);
    // The hidden device windows' WebGPU is behind this switch on Linux (electron/device-window.ts).
    expect(m.switches).toEqual(process.platform === 'linux' ? ['enable-unsafe-webgpu'] : []);
  });

  it('wires every request of the contract to an IPC handler, and nothing else', () => {
    expect([...m.handlers.keys()].sort()).toEqual(REQUEST_NAMES.map(requestChannel).sort());
  });

  it('validates every payload: malformed ones get an error reply, never a throw', async () => {
    for (const name of REQUEST_NAMES) {
      const r: any = await m.handlers.get(requestChannel(name))!(fromApp, { surely: 'not valid', runId: 7 });
      expect(r.ok, name).toBe(false);
      expect(r.error.code, name).toBe('invalid_request');
    }
  });

  it('answers valid requests through the service, with native dialogs', async () => {
    expect(await m.handlers.get('studio:app.info')!(fromApp, {})).toMatchObject({ ok: true, result: { mode: 'electron', dialogs: true, workspace: tmp.dir } });
    expect(await m.handlers.get('studio:dialog.openFolder')!(fromApp, {})).toEqual({ ok: true, result: { path: '/picked/folder' } });
    const { dialog } = await import('electron');
    expect(dialog.showOpenDialog).toHaveBeenLastCalledWith(win, expect.objectContaining({ properties: ['openDirectory'] })); // modal to the window
    expect(await m.handlers.get('studio:runs.list')!(fromApp, {})).toEqual({ ok: true, result: { runs: [] } });
  });

  it('refuses requests from frames that are not the studio page', async () => {
    for (const sender of [{ senderFrame: { url: 'https://evil.example/' } }, { senderFrame: null }, {}]) {
      const r: any = await m.handlers.get('studio:app.info')!(sender, {});
      expect(r).toMatchObject({ ok: false, error: { code: 'invalid_request', message: expect.stringMatching(/did not come from/) } });
    }
  });

  it('forwards service events to the window on the event channel', async () => {
    const ds = await makeDataset(join(tmp.dir, 'data'), { classes: 2, perClass: 2, size: 16 });
    win.webContents.send.mockClear();
    const r: any = await m.handlers.get('studio:dataset.scan')!(fromApp, { path: ds.root });
    expect(r).toMatchObject({ ok: true, result: { totalImages: 4 } });
    const sent = win.webContents.send.mock.calls.filter((c: unknown[]) => c[0] === EVENT_CHANNEL).map((c: unknown[]) => c[1]);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.at(-1)).toMatchObject({ event: 'progress', payload: { task: 'dataset.scan', done: 4, total: 4 } });
  });

  it('lets the window close when nothing trains', () => {
    const e = { preventDefault: vi.fn() };
    win.emit('close', e);
    expect(e.preventDefault).not.toHaveBeenCalled();
  });
});
