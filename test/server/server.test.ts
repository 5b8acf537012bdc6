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

/** Opens the page as the browser does and returns the cookie it was given ("name=value"). */
async function assetCookie(): Promise<string> {
  const page = await http(`/?token=${srv.token}`);
  return String(page.headers['set-cookie']).split(';')[0];
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
    const setCookie = String(page.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^studio_assets_${srv.port}=[A-Za-z0-9_-]{32}; HttpOnly; SameSite=Strict; Path=/$`));
    // The cookie reaches every server on 127.0.0.1 (cookies ignore ports): it must not be the token.
    expect(setCookie).not.toContain(srv.token);
  });

  it("serves the page's assets with the asset cookie, and nothing outside the folder", async () => {
    const cookie = await assetCookie();
    expect((await http('/assets/app.js')).status).toBe(401);
    expect((await http('/assets/app.js', { headers: { Cookie: `studio_assets_${srv.port}=nope` } })).status).toBe(403);
    // The token itself is no cookie value.
    expect((await http('/assets/app.js', { headers: { Cookie: `studio_assets_${srv.port}=${srv.token}` } })).status).toBe(403);
    expect((await http('/assets/app.js', { headers: { Authorization: `Bearer ${srv.token}` } })).status).toBe(200);
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

  it('answers the contract over HTTP with the token, never with the cookie', async () => {
    expect((await http('/api/app.info', { method: 'POST' })).status).toBe(401);
    const cookie = await assetCookie();
    expect((await http('/api/app.info', { method: 'POST', headers: { Cookie: cookie } })).status).toBe(401);
    const key = cookie.slice(cookie.indexOf('=') + 1);
    // The cookie's value is no token either: the API refuses it by query and by Bearer.
    expect((await http(`/api/app.info?token=${key}`, { method: 'POST' })).status).toBe(403);
    expect((await http('/api/app.info', { method: 'POST', headers: { Authorization: `Bearer ${key}` } })).status).toBe(403);
    expect(await wsStatus(`/api/ws?token=${key}`)).toBe(403);
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

describe('browser-mode server: token parsing and hostile requests', () => {
  const post = (path: string, headers: Record<string, string> = {}, body = '{}') => http(path, { method: 'POST', headers, body });
  const json = (r: Res) => {
    expect(r.headers['content-type'], r.body).toBe('application/json');
    return JSON.parse(r.body);
  };

  it('matches the Authorization scheme case-insensitively (RFC 9110) and ignores an empty ?token=', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      expect((await post('/api/app.info', { Authorization: `${scheme} ${srv.token}` })).status, scheme).toBe(200);
    }
    expect((await post('/api/app.info', { Authorization: `Bearer   ${srv.token}  ` })).status).toBe(200);
    // An empty parameter is absent: it must not hide a valid Bearer token or a later non-empty one.
    expect((await post('/api/app.info?token=', { Authorization: `Bearer ${srv.token}` })).status).toBe(200);
    expect((await post(`/api/app.info?token=&token=${srv.token}`)).status).toBe(200);
    expect((await post('/api/app.info?token=')).status).toBe(401);
    // Other schemes and a scheme without credentials are no token at all.
    expect((await post('/api/app.info', { Authorization: `Basic ${srv.token}` })).status).toBe(401);
    expect((await post('/api/app.info', { Authorization: 'Bearer' })).status).toBe(401);
    expect((await post('/api/app.info', { Authorization: 'Bearer ' })).status).toBe(401);
    expect((await post('/api/app.info', { Authorization: `Bearer${srv.token}` })).status).toBe(401);
    // Every token presented must be right: a wrong one beside a right one is refused.
    expect((await post(`/api/app.info?token=${srv.token}`, { Authorization: 'Bearer wrong' })).status).toBe(403);
    expect((await post('/api/app.info?token=wrong', { Authorization: `Bearer ${srv.token}` })).status).toBe(403);
    expect(await wsStatus(`/api/ws?token=&token=${srv.token}`)).toBe(101);
    expect(await wsStatus('/api/ws?token=', { Authorization: `bearer ${srv.token}` })).toBe(101);
  });

  it('answers every /api/ refusal in JSON: 401, 403, 405', async () => {
    expect(json(await post('/api/app.info'))).toMatchObject({ ok: false, error: { code: 'invalid_request', message: expect.stringMatching(/token is missing/) } });
    expect(json(await post('/api/app.info?token=nope'))).toMatchObject({ ok: false, error: { message: expect.stringMatching(/wrong session token/) } });
    const get = await http(`/api/app.info?token=${srv.token}`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(json(get)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/use POST/) } });
  });

  it('answers a request name that is not valid percent-encoding with a JSON 400, not a 500', async () => {
    const r = await post(`/api/%E0%A4%A?token=${srv.token}`);
    expect(r.status).toBe(400);
    expect(json(r)).toMatchObject({ ok: false, error: { code: 'invalid_request', message: expect.stringMatching(/not valid percent-encoding: "%E0%A4%A"/) } });
    const ok = await post(`/api/app%2Einfo?token=${srv.token}`);
    expect(ok.status).toBe(200);
    // Routed on the path as sent: an encoded ".." is an unknown request, not the page.
    const dots = await post(`/api/%2e%2e?token=${srv.token}`);
    expect(dots.status).toBe(400);
    expect(json(dots)).toMatchObject({ ok: false, error: { message: 'unknown request ".."' } });
  });

  it('answers a JSON null body with an error that names the request', async () => {
    for (const name of ['app.info', 'runs.get', 'settings.set', 'train.start', 'inspect.predict']) {
      const r = await post(`/api/${name}?token=${srv.token}`, {}, 'null');
      expect(r.status, name).toBe(400);
      const e = json(r).error;
      expect(e.message, name).toMatch(new RegExp(`^${name.replace('.', '\\.')}: .*Expected object, received null`));
      expect(e.message).not.toMatch(/Cannot convert/);
    }
  });

  it('answers a 49 MB body with a JSON 413 and then closes the connection (no reset)', async () => {
    const body = 'x'.repeat(49 * 1024 * 1024);
    const t0 = Date.now();
    const r = await post(`/api/app.info?token=${srv.token}`, {}, body);
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(json(r)).toMatchObject({ ok: false, error: { code: 'invalid_request', message: 'the request body is larger than the 48 MB limit' } });
    expect(Date.now() - t0).toBeLessThan(10_000);
    // Still serving.
    expect((await post(`/api/app.info?token=${srv.token}`)).status).toBe(200);
  });

  it('answers a request that HTTP cannot parse with a JSON 400', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port: srv.port }, () => sock.write('GARBAGE / NOT-HTTP\r\n\r\n'));
      let data = '';
      sock.on('data', (c) => (data += c));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply).toMatch(/Content-Type: application\/json/);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });
});
