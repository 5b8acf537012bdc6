// electron/engine-process.ts with a stand-in utilityProcess: the engine's device requests go to the hidden
// windows (never to the service), and an engine's windows close when it exits.
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir, waitFor } from '../engine/fixtures/studio.ts';

vi.mock('electron', () => import('./fixtures/fake-electron.ts'));
const { fake, utilityProcess } = await import('./fixtures/fake-electron.ts');
const { DeviceWindows } = await import('../../electron/device-window.ts');
const { utilityEngine } = await import('../../electron/engine-process.ts');

const tmp = tempDir();
afterAll(() => tmp.remove());
mkdirSync(join(tmp.dir, 'dist-device'));
writeFileSync(join(tmp.dir, 'dist-device', 'index.html'), '<!doctype html>');

class FakeChild extends EventEmitter {
  pid = undefined;
  stderr = null;
  readonly sent: { message: unknown; ports: unknown[] }[] = [];
  postMessage(message: unknown, ports: unknown[] = []) {
    this.sent.push({ message, ports });
  }
  kill = vi.fn();
}

describe('the utilityProcess engine', () => {
  it("routes the engine's device requests to hidden windows, the rest to the service; its windows close when it exits", async () => {
    const child = new FakeChild();
    utilityProcess.fork.mockReturnValue(child);
    const devices = new DeviceWindows({ page: join(tmp.dir, 'dist-device'), preload: '/p.cjs' }, 'test host');
    const engine = utilityEngine('/engine.js', devices);
    const service: unknown[] = [];
    engine.onMessage((m) => service.push(m));
    child.emit('message', { type: 'ready', pid: 7 });
    child.emit('message', { type: 'device.open', id: 1, backend: 'webgl' });
    const { message, ports } = await waitFor(() => child.sent[0], 5000, "main's answer");
    expect(message).toEqual({ type: 'device.port', id: 1, host: 'test host' });
    expect(ports).toHaveLength(1);
    expect(service).toEqual([{ type: 'ready', pid: 7 }]);
    expect(fake.windows).toHaveLength(1);
    child.emit('exit', 1);
    expect(fake.windows[0].isDestroyed()).toBe(true);
    expect(child.sent).toHaveLength(1); // nothing posted to an engine that is gone
  });
});
