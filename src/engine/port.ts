// The engine's side of the channel to the service: Electron's utilityProcess gives a process.parentPort,
// a forked Node child gives process.send / process.on('message'). Both carry structured-clone messages.
interface ParentPort {
  on(event: 'message', cb: (e: { data: unknown; ports?: unknown[] }) => void): void;
  postMessage(msg: unknown): void;
}

export interface EnginePort {
  /** Under Electron (a utilityProcess): page devices open in the main process's hidden windows. */
  readonly electron: boolean;
  post(msg: unknown): void;
  /** `ports`: MessagePorts the message transferred (Electron only; main hands over a device window's port). */
  onMessage(cb: (msg: unknown, ports: readonly unknown[]) => void): void;
}

export function connectParent(): EnginePort {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return { electron: true, post: (m) => parentPort.postMessage(m), onMessage: (cb) => parentPort.on('message', (e) => cb(e.data, e.ports ?? [])) };
  }
  if (!process.send) throw new Error('the engine must be started by the studio (no IPC channel to a parent process)');
  // The service went away: nothing left to compute for.
  process.on('disconnect', () => process.exit(0));
  return {
    electron: false,
    post: (m) => process.connected && process.send!(m),
    onMessage: (cb) => process.on('message', (m) => cb(m, [])),
  };
}
