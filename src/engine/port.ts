// The engine's side of the channel to the service: Electron's utilityProcess gives a process.parentPort,
// a forked Node child gives process.send / process.on('message'). Both carry structured-clone messages.
interface ParentPort {
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
}

export interface EnginePort {
  post(msg: unknown): void;
  onMessage(cb: (msg: unknown) => void): void;
}

export function connectParent(): EnginePort {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return { post: (m) => parentPort.postMessage(m), onMessage: (cb) => parentPort.on('message', (e) => cb(e.data)) };
  }
  if (!process.send) throw new Error('the engine must be started by the studio (no IPC channel to a parent process)');
  // The service went away: nothing left to compute for.
  process.on('disconnect', () => process.exit(0));
  return {
    post: (m) => process.connected && process.send!(m),
    onMessage: (cb) => process.on('message', cb),
  };
}
