// The cookie leak of issue 13, in a real browser: cookies ignore ports, so after the studio's page is opened
// in Chromium, any other web server on 127.0.0.1 receives the studio's cookie. That cookie must unlock
// nothing but the page's static files: not the HTTP API, not the WebSocket.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { CHROMIUM } from '../e2e/harness.ts';
import { spawnFakeEngine } from '../engine/fixtures/studio.ts';

// A stand-in for the built renderer: a module script (loaded with the cookie) that reads the token from
// the page URL, as the real one does, and asks app.info over the WebSocket.
const APP_JS = `
const token = new URL(location.href).searchParams.get('token');
const ws = new WebSocket('ws://' + location.host + '/api/ws?token=' + encodeURIComponent(token));
ws.onopen = () => ws.send(JSON.stringify({ type: 'request', id: 1, method: 'app.info', params: {} }));
ws.onmessage = (m) => {
  const f = JSON.parse(m.data);
  if (f.id === 1) document.title = f.ok ? 'connected:' + f.result.mode : 'refused:' + f.error.message;
};
ws.onerror = () => (document.title = 'websocket error');
`;

let tmp: string;
let studio: RunningServer;
let other: Server;
let otherPort: number;
const received: { url: string; cookie: string | undefined }[] = [];
let context: BrowserContext;

function post(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: studio.port, path, method: 'POST', headers: { Host: `127.0.0.1:${studio.port}`, ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end('{}');
  });
}

function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: studio.port, path, headers: { Host: `127.0.0.1:${studio.port}`, ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

function wsStatus(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const s = new WebSocket(`ws://127.0.0.1:${studio.port}${path}`, { headers });
    s.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    s.on('open', () => (s.close(), resolve(101)));
    s.on('error', () => {});
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'studio-cred-'));
  const web = join(tmp, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(web, 'assets', 'app.js'), APP_JS);
  studio = await startServer({ port: 0, workspace: join(tmp, 'workspace'), staticDir: web, spawnEngine: spawnFakeEngine });

  // Another local web server, on another port: it records the cookies the browser sends it.
  other = createServer((req, res) => {
    received.push({ url: req.url ?? '', cookie: req.headers.cookie });
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>other site</title><p>another local server</p>');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherPort = (other.address() as { port: number }).port;

  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await context?.close();
  await studio?.close();
  await new Promise((r) => other?.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('the studio cookie in Chromium, seen by another local server', () => {
  it('opens the studio (assets through the cookie, the API through the token in the URL)', async () => {
    const page = await context.newPage();
    await page.goto(studio.url);
    await page.waitForFunction(() => document.title !== 'loading', undefined, { timeout: 15_000 });
    expect(await page.title()).toBe('connected:browser');
    await page.close();
  });

  it("another server on 127.0.0.1 receives the cookie, and it unlocks neither the API nor the WebSocket", async () => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${otherPort}/leak`);
    expect(await page.title()).toBe('other site');
    await page.close();

    const hit = received.find((r) => r.url === '/leak');
    const cookieHeader = hit?.cookie ?? '';
    // The leak the browser cannot prevent: the cookie does reach the other port...
    const name = `studio_assets_${studio.port}`;
    expect(cookieHeader).toContain(`${name}=`);
    const pairs = cookieHeader.split(';').map((p) => p.trim().split('='));
    const stolen = pairs.find(([k]) => k === name)![1];
    expect(stolen.length).toBeGreaterThanOrEqual(32);
    // ...but carries no token: no value the other server got is the session token.
    for (const [, v] of pairs) expect(v).not.toBe(studio.token);
    expect(cookieHeader).not.toContain(studio.token);

    // Replayed every way the other server could: query, Bearer (either case), cookie.
    expect(await post(`/api/runs.list?token=${stolen}`)).toBe(403);
    expect(await post('/api/runs.list', { Authorization: `Bearer ${stolen}` })).toBe(403);
    expect(await post('/api/runs.list', { Authorization: `bearer ${stolen}` })).toBe(403);
    expect(await post('/api/runs.list', { Cookie: cookieHeader })).toBe(401);
    expect(await post(`/api/runs.list?token=`, { Cookie: cookieHeader })).toBe(401);
    expect(await wsStatus(`/api/ws?token=${stolen}`)).toBe(403);
    expect(await wsStatus('/api/ws', { Cookie: cookieHeader })).toBe(401);
    expect(await wsStatus('/api/ws', { Cookie: cookieHeader, Authorization: `Bearer ${stolen}` })).toBe(403);
    // Nor does it open the page itself (which needs ?token=).
    expect(await get('/', { Cookie: cookieHeader })).toBe(401);
    expect(await get(`/?token=${stolen}`)).toBe(403);
    // What it does unlock: the page's static files, which hold no secret.
    expect(await get('/assets/app.js', { Cookie: cookieHeader })).toBe(200);

    // Control: the real token still works.
    expect(await post(`/api/runs.list?token=${studio.token}`)).toBe(200);
    expect(await wsStatus(`/api/ws?token=${studio.token}`)).toBe(101);
  });
});
