import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { bridgeTransport, createClient, socketTransport } from '../../src/protocol/client.ts';
import type { StudioBridge } from '../../src/protocol/contract.ts';

const settings = { workspace: '/w', backend: 'auto' };

function fakeBridge(reply: (name: string, params: unknown) => unknown) {
  let listener: (event: string, payload: unknown) => void = () => {};
  const bridge: StudioBridge = {
    request: vi.fn(async (name, params) => reply(name, params) as never),
    on: (l) => ((listener = l), () => {}),
  };
  return { bridge, emit: (e: string, p: unknown) => listener(e, p) };
}

describe('studio client', () => {
  it('returns validated results and rejects with the typed error', async () => {
    const { bridge } = fakeBridge((name) =>
      name === 'settings.get' ? { ok: true, result: settings } : { ok: false, error: { code: 'not_found', message: 'no run "x"' } });
    const client = createClient(bridgeTransport(bridge));
    expect(await client.request('settings.get', {})).toEqual(settings);
    await expect(client.request('runs.get', { runId: 'x' })).rejects.toMatchObject({ name: 'StudioError', code: 'not_found', message: 'no run "x"' });
  });

  it('refuses bad params before sending, and malformed results after', async () => {
    const { bridge } = fakeBridge(() => ({ ok: true, result: { workspace: 5 } }));
    const client = createClient(bridgeTransport(bridge));
    await expect(client.request('runs.get', { runId: '../x' })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(bridge.request).not.toHaveBeenCalled();
    await expect(client.request('settings.get', {})).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/malformed result/) });
  });

  it('delivers valid events to their subscribers only, drops malformed and unknown ones', () => {
    const { bridge, emit } = fakeBridge(() => null);
    const client = createClient(bridgeTransport(bridge));
    const got: unknown[] = [];
    const off = client.on('progress', (p) => got.push(p));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    emit('progress', { task: 't', id: '1', done: 1, total: 2 });
    emit('progress', { task: 't' });
    emit('from.the.future', {});
    emit('engine.status', { state: 'ready' });
    off();
    emit('progress', { task: 't', id: '1', done: 2, total: 2 });
    expect(got).toEqual([{ task: 't', id: '1', done: 1, total: 2 }]);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});

describe('socket transport', () => {
  let wss: WebSocketServer | undefined;
  afterEach(() => wss?.close());

  it('fails requests in flight when the socket drops, and sends new ones after it reconnects', async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss!.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    const tokens: (string | null)[] = [];
    let connections = 0;
    wss.on('connection', (ws, req) => {
      tokens.push(new URL(req.url!, 'http://x').searchParams.get('token'));
      const n = ++connections;
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString());
        if (n === 1) return ws.terminate(); // the first connection dies without answering
        ws.send(JSON.stringify({ type: 'response', id: f.id, ok: true, result: settings }));
      });
    });
    const states: boolean[] = [];
    const t = socketTransport({ url: `ws://127.0.0.1:${port}/api/ws`, token: 'tok', retryMs: 20, WebSocketImpl: WebSocket as never, onConnectionChange: (up) => states.push(up) });
    const client = createClient(t);
    await expect(client.request('settings.get', {})).rejects.toMatchObject({ code: 'disconnected' });
    expect(await client.request('settings.get', {})).toEqual(settings);
    expect(tokens).toEqual(['tok', 'tok']);
    expect(states).toEqual([true, false, true]);
    t.close();
    await expect(client.request('settings.get', {})).rejects.toMatchObject({ code: 'disconnected' });
  });
});
