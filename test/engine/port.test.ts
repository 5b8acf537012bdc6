// The engine's port under Electron (a utilityProcess's parentPort, scripted here): the service's messages are
// passed on, main's answers about hidden windows are not, and the port's page opener asks main for a window.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { connectParent } from '../../src/engine/port.ts';
import { waitFor } from './fixtures/studio.ts';

/** Electron's parentPort: 'message' events carry { data, ports }. */
function parentPort() {
  const posted: unknown[] = [];
  const port = Object.assign(new EventEmitter(), { postMessage: (m: unknown) => void posted.push(m) });
  return { port, posted, send: (data: unknown) => port.emit('message', { data, ports: [] }) };
}

describe("the Electron engine's port", () => {
  it("passes the service's messages on, keeps main's window answers, and opens page devices through main", async () => {
    const parent = parentPort();
    const engine = connectParent(parent.port);
    const received: unknown[] = [];
    engine.onMessage((m) => received.push(m));
    expect(engine.openPage).toBeTypeOf('function');

    const opening = engine.openPage!('webgl', { env: {} });
    expect(await waitFor(() => parent.posted[0])).toEqual({ type: 'device.open', id: 1, backend: 'webgl' });
    parent.send({ type: 'call', id: 3, method: 'predict', params: {} });
    parent.send({ type: 'device.error', id: 1, error: 'the compute device page is not built' });
    await expect(opening).rejects.toThrow('cannot open a webgl device in a hidden window: the compute device page is not built');
    expect(received).toEqual([{ type: 'call', id: 3, method: 'predict', params: {} }]);

    engine.post({ type: 'ready', pid: 1 });
    expect(parent.posted.at(-1)).toEqual({ type: 'ready', pid: 1 });
  });
});
