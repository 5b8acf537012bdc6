import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { createClient, socketTransport } from '../../src/protocol/client.ts';
import { StudioError } from '../../src/protocol/contract.ts';
import { spawnFakeEngine, tempDir, waitFor } from '../engine/fixtures/studio.ts';

let ws: ReturnType<typeof tempDir>;
let srv: RunningServer;

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: string }
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, method: opts.method ?? 'GET', headers: { Host: `127.0.0.1:${srv.port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function wsStatus(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const s = new WebSocket(`ws://127.0.0.1:${srv.port}${path}`, { headers });
    s.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    s.on('open', () => (s.close(), resolve(101)));
    s.on('error', () => {});
  });
}

beforeAll(async () => {
  ws = tempDir();
  const web = join(ws.dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>studio</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(ws.dir, 'secret.txt'), 'secret');
  srv = await startServer({ port: 0, open: false, workspace: join(ws.dir, 'workspace'), staticDir: web, spawnEngine: spawnFakeEngine });
});
afterAll(async () => {
  await srv.close();
  ws.remove();
});

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only and prints a URL with the token', async () => {
    expect(srv.url).toBe(`http://127.0.0.1:${srv.port}/?token=${srv.token}`);
    expect(srv.token.length).toBeGreaterThanOrEqual(32);
    // Another address of this machine must not reach it.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
    if (external) {
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        const sock = connect({ host: external.address, port: srv.port }, () => (sock.destroy(), resolve(null)));
        sock.on('error', resolve);
      });
      expect(err?.code).toBe('ECONNREFUSED');
    }
  });

  it('refuses the page without the token (401) or with a wrong one (403)', async () => {
    expect((await http('/')).status).toBe(401);
    expect((await http('/?token=wrong')).status).toBe(403);
    const page = await http(`/?token=${srv.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>studio</title>');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'.*script-src 'self'/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(String(page.headers['set-cookie'])).toMatch(/studio_token=.*HttpOnly; SameSite=Strict/);
  });

  it("serves the page's assets with the session cookie, and nothing outside the folder", async () => {
    const cookie = `studio_token=${srv.token}`;
    expect((await http('/assets/app.js')).status).toBe(401);
    expect((await http('/assets/app.js', { headers: { Cookie: 'studio_token=nope' } })).status).toBe(403);
    const js = await http('/assets/app.js', { headers: { Cookie: cookie } });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect((await http('/..%2fsecret.txt', { headers: { Cookie: cookie } })).status).toBe(404);
    expect((await http('/%2e%2e/secret.txt', { headers: { Cookie: cookie } })).status).toBe(404);
  });

  it('refuses any request whose Host is not this server (DNS rebinding)', async () => {
    for (const host of ['evil.example:' + srv.port, '127.0.0.1:1', 'localhost', `127.0.0.1.evil.example:${srv.port}`]) {
      expect((await http(`/?token=${srv.token}`, { headers: { Host: host } })).status, host).toBe(403);
      expect((await http('/api/app.info', { method: 'POST', headers: { Host: host, Authorization: `Bearer ${srv.token}` } })).status, host).toBe(403);
    }
    expect((await http(`/?token=${srv.token}`, { headers: { Host: `localhost:${srv.port}` } })).status).toBe(200);
  });

  it('answers the contract over HTTP with the token, never with the cookie alone', async () => {
    expect((await http('/api/app.info', { method: 'POST' })).status).toBe(401);
    expect((await http('/api/app.info', { method: 'POST', headers: { Cookie: `studio_token=${srv.token}` } })).status).toBe(401);
    expect((await http('/api/app.info', { method: 'POST', headers: { Authorization: 'Bearer nope' } })).status).toBe(403);
    const auth = { Authorization: `Bearer ${srv.token}` };
    const info = await http('/api/app.info', { method: 'POST', headers: auth, body: '{}' });
    expect(info.status).toBe(200);
    expect(JSON.parse(info.body)).toMatchObject({ ok: true, result: { mode: 'browser', dialogs: false } });
    const bad = await http('/api/runs.get', { method: 'POST', headers: auth, body: '{"runId": 5}' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: { code: 'invalid_request', message: expect.stringMatching(/runId/) } });
    expect((await http('/api/no.such', { method: 'POST', headers: auth })).status).toBe(400);
    expect((await http('/api/app.info', { method: 'POST', headers: auth, body: '{nope' })).status).toBe(400);
    expect((await http('/api/app.info', { headers: auth })).status).toBe(405);
  });

  it('refuses WebSockets without the token, with a wrong one, or from another origin', async () => {
    expect(await wsStatus('/api/ws')).toBe(401);
    expect(await wsStatus('/api/ws?token=nope')).toBe(403);
    expect(await wsStatus(`/api/ws?token=${srv.token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await wsStatus(`/api/ws?token=${srv.token}`, { Origin: `http://127.0.0.1:${srv.port}` })).toBe(101);
  });

  it('round-trips requests and pushes events over the WebSocket, answering malformed frames', async () => {
    const s = new WebSocket(`ws://127.0.0.1:${srv.port}/api/ws?token=${srv.token}`);
    const frames: any[] = [];
    s.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => s.once('open', r));
    s.send('not json');
    s.send(JSON.stringify({ type: 'request', id: 7 }));
    s.send(JSON.stringify({ type: 'request', id: 8, method: 'runs.get', params: { runId: '' } }));
    s.send(JSON.stringify({ type: 'request', id: 9, method: 'runs.list', params: {} }));
    await waitFor(() => (frames.length >= 4 ? true : undefined), 5000, 'four replies');
    expect(frames[0]).toMatchObject({ type: 'response', id: null, ok: false, error: { code: 'invalid_request' } });
    expect(frames.find((f) => f.id === 7)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(frames.find((f) => f.id === 8)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(frames.find((f) => f.id === 9)).toMatchObject({ ok: true, result: { runs: [] } });
    s.close();
  });

  it('works through the typed client, including events', async () => {
    const transport = socketTransport({ url: `ws://127.0.0.1:${srv.port}/api/ws`, token: srv.token, WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
    const client = createClient(transport);
    const states: string[] = [];
    client.on('engine.status', (e) => states.push(e.state));
    const info = await client.request('app.info', {});
    expect(info.workspace).toBe(join(ws.dir, 'workspace'));
    // predict starts the (fake) engine: the client sees it start.
    const p = await client.request('inspect.predict', { model: { variant: 'mobilevit_xxs' }, image: { path: '/a.png' }, imageSize: 64 });
    expect(p.imageSize).toBe(64);
    await waitFor(() => (states.includes('ready') ? true : undefined), 5000, 'engine ready event');
    await expect(client.request('runs.get', { runId: 'nope' })).rejects.toMatchObject({ code: 'not_found' });
    // Invalid params are refused before they are sent.
    await expect(client.request('runs.get', { runId: 12 as unknown as string })).rejects.toBeInstanceOf(StudioError);
    transport.close();
  });
});
