// Compute devices in Electron: each is a hidden window on the device page (dist-device/, served as app://device/
// in a session of its own) that computes on the machine's GPU (WebGPU, WebGL) or threaded wasm for the engine
// (a utilityProcess) that asked for it. Main only brokers: it opens the window, hands one end of a
// MessageChannelMain to the page (through the window's preload, electron/device-preload.ts) and the other to the
// engine, and tells the engine when the window's renderer goes; device calls then pass between them directly.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { BrowserWindow, MessageChannelMain, session, type CommandLine, type MessagePortMain, type Session } from 'electron';
import type { PageBackend } from '../src/backend/names.ts';
import { devicePageHeaders } from '../src/device/page-headers.ts';
import { DEVICE_PORT_MESSAGE, asWindowRequest, isDeviceMessage, type WindowReply } from '../src/device/window-messages.ts';
import { serveSites, staticSite } from './app-protocol.ts';
import { APP_SCHEME, denyPermissions, guardDevicePage, webPreferences } from './security.ts';

export const DEVICE_HOST = 'device';
/** No "persist:" prefix: the session lives in memory, and the page shares no storage with the studio's window. */
export const DEVICE_PARTITION = 'mobilevit-device';

export interface DevicePaths {
  /** The built device page (dist-device/). */
  page: string;
  /** The bundled device preload (device-preload.cjs). */
  preload: string;
}

/** The engine as main sees it (a utilityProcess). */
export interface EngineLink {
  postMessage(message: unknown, transfer?: MessagePortMain[]): void;
}

/** One engine's devices: `receive` takes its messages (true for device ones), `close` closes its windows. */
export interface EngineDevices {
  receive(message: unknown): boolean;
  close(): void;
}

/** WebGPU is behind a flag on Linux (as for headless Chromium, chromium.ts). Must run before the app is ready. */
export function allowPageGpu(commandLine: Pick<CommandLine, 'appendSwitch'>, platform = process.platform): void {
  if (platform === 'linux') commandLine.appendSwitch('enable-unsafe-webgpu');
}

export class DeviceWindows {
  private deviceSession: Session | null = null;
  /** Every window's closer, so that the app can close them all when the studio's window goes. */
  private readonly closers = new Set<() => void>();

  constructor(private readonly paths: DevicePaths, private readonly host = `Electron hidden window (Chromium ${process.versions.chrome})`) {}

  serve(engine: EngineLink): EngineDevices {
    const mine = new Map<number, () => void>();
    return {
      receive: (message) => {
        if (!isDeviceMessage(message)) return false;
        const req = asWindowRequest(message);
        if (!req) console.error(`device windows: dropped a malformed message from the engine: ${inspect(message, { depth: 2, breakLength: Infinity }).slice(0, 200)}`);
        else if (req.type === 'device.close') mine.get(req.id)?.();
        else {
          this.open(engine, req.id, req.backend, mine).catch((e: unknown) => {
            engine.postMessage({ type: 'device.error', id: req.id, error: `no hidden window: ${(e as Error).message}` } satisfies WindowReply);
          });
        }
        return true;
      },
      close: () => [...mine.values()].forEach((close) => close()),
    };
  }

  closeAll(): void {
    [...this.closers].forEach((close) => close());
  }

  /** One session for every device window: permissions denied, only app://device/ served. */
  private session(): Session {
    if (!this.deviceSession) {
      const s = session.fromPartition(DEVICE_PARTITION);
      denyPermissions(s);
      serveSites(s.protocol, { [DEVICE_HOST]: staticSite(this.paths.page, devicePageHeaders()) });
      this.deviceSession = s;
    }
    return this.deviceSession;
  }

  private async open(engine: EngineLink, id: number, backend: PageBackend, mine: Map<number, () => void>): Promise<void> {
    let answered = false;
    const answer = (reply: WindowReply, ports?: MessagePortMain[]) => {
      if (!answered) engine.postMessage(reply, ports);
      answered = true;
    };
    const index = join(this.paths.page, 'index.html');
    if (!existsSync(index)) {
      answer({ type: 'device.error', id, error: `the compute device page is not built (${index} is missing; \`npm run build\` builds it)` });
      return;
    }
    const win = new BrowserWindow({
      show: false,
      skipTaskbar: true,
      title: `MobileViT Studio ${backend} device`,
      // A hidden window is a background one: unthrottled, or its timers would slow training to a crawl.
      webPreferences: { ...webPreferences(this.paths.preload), session: this.session(), backgroundThrottling: false },
    });
    let over = false;
    /** Ends the device once, telling the engine why: the open fails before the hand-over, the device's calls after. */
    const close = (why: string) => {
      if (over) return;
      over = true;
      mine.delete(id);
      this.closers.delete(closeAsked);
      if (!answered) answer({ type: 'device.error', id, error: why });
      else engine.postMessage({ type: 'device.lost', id, reason: why } satisfies WindowReply);
      if (!win.isDestroyed()) win.destroy();
    };
    const closeAsked = () => close('the hidden window was closed');
    mine.set(id, closeAsked);
    this.closers.add(closeAsked);
    win.on('closed', closeAsked);
    guardDevicePage(win.webContents);
    win.webContents.on('render-process-gone', (_e, details) => close(`the hidden window's renderer is gone (${details.reason}, exit code ${details.exitCode})`));
    const hash = new URLSearchParams({ transport: 'port', backend, host: this.host });
    try {
      await win.loadURL(`${APP_SCHEME}://${DEVICE_HOST}/index.html#${hash}`);
    } catch (e) {
      close(`the device page did not load: ${(e as Error).message}`);
      return;
    }
    if (over) return; // closed while it loaded (the engine gave up, the renderer went): the engine was told
    const { port1, port2 } = new MessageChannelMain();
    win.webContents.postMessage(DEVICE_PORT_MESSAGE, null, [port1]);
    answer({ type: 'device.port', id, host: this.host }, [port2]);
  }
}
