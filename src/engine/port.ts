// The engine's side of the channel to the service, as its host made it: Electron's utilityProcess gives a
// process.parentPort, a forked Node child gives process.send / process.on('message'). Both carry structured-clone
// messages. What else differs is where page devices open: under Electron, hidden windows of the main process,
// whose answers arrive on this same port (window-devices.ts takes them before the service's messages are passed
// on); elsewhere headless Chromium, which the device choice launches by default.
import type { PageDeviceOpener } from '../device/choice.ts';
import { WindowDevices } from './window-devices.ts';

interface ParentPort {
  on(event: 'message', cb: (e: { data: unknown; ports?: unknown[] }) => void): void;
  postMessage(msg: unknown): void;
}

export interface EnginePort {
  post(msg: unknown): void;
  /** The service's messages (main's answers about hidden windows never reach `cb`). */
  onMessage(cb: (msg: unknown) => void): void;
  /** Where this engine's page devices open, when not in headless Chromium (Electron: its hidden windows). */
  readonly openPage?: PageDeviceOpener;
}

/** `parentPort`: Electron's, when this engine is a utilityProcess. */
export function connectParent(parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort): EnginePort {
  if (parentPort) {
    const post = (m: unknown) => parentPort.postMessage(m);
    const windows = new WindowDevices(post);
    return {
      post,
      onMessage: (cb) => parentPort.on('message', (e) => {
        if (!windows.receive(e.data, e.ports ?? [])) cb(e.data);
      }),
      openPage: (backend, opts) => windows.open(backend, opts),
    };
  }
  if (!process.send) throw new Error('the engine must be started by the studio (no IPC channel to a parent process)');
  // The service went away: nothing left to compute for.
  process.on('disconnect', () => process.exit(0));
  return {
    post: (m) => process.connected && process.send!(m),
    onMessage: (cb) => process.on('message', cb),
  };
}
