// The desktop app's host (src/service/host.ts): the engine is a utilityProcess whose page devices are hidden
// windows that this process opens for it (device-window.ts), the open dialogs are the system's, and the window's
// files are served on app://studio/ (app-protocol.ts) with a CSP under which the page connects to nothing.
import { dialog, type BrowserWindow, type OpenDialogOptions } from 'electron';
import { fileResponse, type StudioHost } from '../src/service/host.ts';
import type { DeviceWindows } from './device-window.ts';
import { utilityEngine } from './engine-process.ts';
import { CSP } from './security.ts';

export interface ElectronHostOptions {
  /** The built renderer (dist-renderer/). */
  renderer: string;
  /** The compiled engine (dist-electron/src/engine/main.js). */
  engine: string;
  /** Where the engine's page devices open. */
  devices: DeviceWindows;
  /** The studio's window, which the dialogs belong to (null before it exists or once it is closed). */
  window: () => BrowserWindow | null;
}

export function electronHost(opts: ElectronHostOptions): StudioHost {
  const windowHeaders = () => ({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
  /** Modal to the window while there is one. */
  const open = async (options: OpenDialogOptions): Promise<string | null> => {
    const win = opts.window();
    const r = await (win ? dialog.showOpenDialog(win, options) : dialog.showOpenDialog(options));
    return r.canceled ? null : (r.filePaths[0] ?? null);
  };
  return {
    mode: 'electron',
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
    dialogs: {
      openFolder: ({ title }) => open({ title: title ?? 'Open a dataset folder', properties: ['openDirectory'] }),
      openFile: ({ title, filters }) => open({ title: title ?? 'Open a file', properties: ['openFile'], filters }),
    },
    spawnEngine: () => utilityEngine(opts.engine, opts.devices),
    windowHeaders,
    windowFile: (pathname, method) => fileResponse(opts.renderer, pathname, method, windowHeaders()),
  };
}
