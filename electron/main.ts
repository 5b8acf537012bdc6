// The desktop shell: one window on the built renderer (app://studio/), the studio service in this
// process, the engine in a utilityProcess; what differs from the browser mode is the host (host.ts).
// Built to dist-electron/ by `npm run build:electron`.
import { join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, protocol, session, shell } from 'electron';
import { StudioService, hostOptions } from '../src/service/service.ts';
import { registerAppScheme, serveSites } from './app-protocol.ts';
import { createCloseGuard } from './close-guard.ts';
import { DeviceWindows, allowPageGpu } from './device-window.ts';
import { electronHost } from './host.ts';
import { forwardEvents, registerIpc } from './ipc.ts';
import { APP_URL, denyPermissions, guardContents, webPreferences } from './security.ts';

/** Where the built pieces are, relative to the app's root (the repository, or the packaged app). */
export function appPaths(root: string) {
  return {
    renderer: join(root, 'dist-renderer'),
    preload: join(root, 'dist-electron', 'electron', 'preload.cjs'),
    engine: join(root, 'dist-electron', 'src', 'engine', 'main.js'),
    devicePage: join(root, 'dist-device'),
    devicePreload: join(root, 'dist-electron', 'electron', 'device-preload.cjs'),
  };
}

export async function startDesktop(): Promise<void> {
  registerAppScheme();
  allowPageGpu(app.commandLine);
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  const paths = appPaths(app.getAppPath());
  denyPermissions(session.defaultSession);
  app.on('web-contents-created', (_e, contents) => guardContents(contents, (url) => void shell.openExternal(url)));

  let win: BrowserWindow | null = null;
  const devices = new DeviceWindows({ page: paths.devicePage, preload: paths.devicePreload });
  const host = electronHost({ renderer: paths.renderer, engine: paths.engine, devices, window: () => win });
  serveSites(protocol, { studio: host.windowFile });
  const service = new StudioService(hostOptions(host));
  registerIpc(ipcMain, service);
  forwardEvents(service, () => win?.webContents ?? null);

  win = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 960,
    minHeight: 640,
    title: 'MobileViT Studio',
    show: false,
    webPreferences: webPreferences(paths.preload),
  });
  win.once('ready-to-show', () => win?.show());
  win.on(
    'close',
    createCloseGuard({
      service,
      async ask(runId) {
        const { response } = await dialog.showMessageBox(win!, {
          type: 'question',
          buttons: ['Keep training', 'Pause and close'],
          defaultId: 0,
          cancelId: 0,
          message: 'A run is still training',
          detail: `Run ${runId} is training. Pause it and close? It saves a checkpoint, and you can resume it from the Runs view.`,
        });
        return response === 1;
      },
      close: () => win?.close(),
    }),
  );
  // Hidden device windows count as windows: without closing them, 'window-all-closed' would never come.
  win.on('closed', () => {
    win = null;
    devices.closeAll();
  });
  app.on('window-all-closed', () => {
    void service.close().then(() => app.quit());
  });
  await win.loadURL(APP_URL);
}

startDesktop().catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  console.error('MobileViT Studio could not start:', e);
  dialog.showErrorBox('MobileViT Studio could not start', message);
  app.exit(1);
});
