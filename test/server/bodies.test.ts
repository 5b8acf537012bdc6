// The browser-mode server's budget on request bodies held at once, across connections and transports:
// large bodies past it are refused with a 503 at once (before their bytes are read), small everyday requests
// keep being answered, and the bytes come back when replies are sent or clients go away.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SMALL_BODY_RESERVE } from '../../src/server/bodies.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { spawnFakeEngine, tempDir, waitFor } from '../engine/fixtures/studio.ts';

const MB = 1024 * 1024;
const BUDGET = 8 * MB;
const LARGE = 3 * MB; // two fit in the budget, a third does not
const HANG = 60_000; // only for hangs, generous for a loaded machine

let tmp: ReturnType<typeof tempDir>;
let srv: RunningServer;

beforeAll(async () => {
  tmp = tempDir();
  srv = await startServer({ port: 0, open: false, workspace: join(tmp.dir, 'workspace'), staticDir: join(tmp.dir, 'web'), spawnEngine: spawnFakeEngine, bodyBudget: BUDGET });
});
afterAll(async () => {
  await srv.close();
  tmp.remove();
});

/** `{}` padded with spaces to `bytes`: valid JSON for app.info, of any size. */
const paddedEmpty = (bytes: number) => `{${' '.repeat(bytes - 2)}}`;

interface Reply { status: number; headers: string; json: { ok: boolean; error?: { code: string; message: string } } }

/** A raw connection: the request is written by the test, piece by piece; `reply` settles with the first response. */
function rawPost(headers: Record<string, string>): { sock: Socket; reply: Promise<Reply> } {
  const sock = connect({ host: '127.0.0.1', port: srv.port });
  sock.on('error', () => {});
  const lines = [`POST /api/app.info?token=${srv.token} HTTP/1.1`, `Host: 127.0.0.1:${srv.port}`, 'Content-Type: application/json',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  sock.write(lines.join('\r\n') + '\r\n\r\n');
  const reply = new Promise<Reply>((resolve, reject) => {
    let data = '';
    sock.on('data', (c) => {
      data += c;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.slice(0, end);
      const rest = data.slice(end + 4);
      let body: string;
      const length = /\r\ncontent-length: (\d+)/i.exec(head);
      if (length) {
        if (rest.length < Number(length[1])) return;
        body = rest.slice(0, Number(length[1]));
      } else { // chunked: one chunk, then the last one
        const chunk = /^([0-9a-f]+)\r\n/i.exec(rest);
        if (!chunk || !rest.endsWith('\r\n0\r\n\r\n')) return;
        body = rest.slice(chunk[0].length, chunk[0].length + parseInt(chunk[1], 16));
      }
      resolve({ status: Number(head.split(' ')[1]), headers: head, json: JSON.parse(body) });
    });
    sock.on('close', () => reject(new Error(`the connection closed without a reply: ${data.slice(0, 200)}`)));
  });
  return { sock, reply };
}

function post(body: string): Promise<{ status: number; json: Reply['json'] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path: `/api/app.info?token=${srv.token}`, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const inUseIs = (bytes: number) => waitFor(() => srv.bodies.inUse === bytes || undefined, HANG, `${bytes} bytes of bodies held`);

/** Two large bodies that the server has taken from the budget and is still reading (half sent). */
async function holdTwo(): Promise<{ sock: Socket; reply: Promise<Reply> }[]> {
  const held = [rawPost({ 'Content-Length': String(LARGE) }), rawPost({ 'Content-Length': String(LARGE) })];
  for (const h of held) h.sock.write(paddedEmpty(LARGE).slice(0, LARGE / 2));
  await inUseIs(2 * LARGE);
  return held;
}

async function finish(held: { sock: Socket; reply: Promise<Reply> }[]): Promise<Reply[]> {
  for (const h of held) h.sock.write(paddedEmpty(LARGE).slice(LARGE / 2));
  const replies = await Promise.all(held.map((h) => h.reply));
  for (const h of held) h.sock.destroy();
  return replies;
}

describe('request body budget', () => {
  it('refuses a declared body that does not fit with a 503 before reading it; small requests and the held bodies are answered', async () => {
    const held = await holdTwo();
    const third = rawPost({ 'Content-Length': String(LARGE) }); // not one byte of its body is sent
    const refused = await third.reply;
    expect(refused.status).toBe(503);
    expect(refused.headers).toMatch(/\r\nRetry-After: 1/i);
    expect(refused.json).toEqual({ ok: false, error: { code: 'failed', message: 'the server is busy: other requests\' bodies hold 6 MB of the 8 MB it takes at once; try again in a moment' } });
    third.sock.destroy();
    // The UI's everyday requests are small and keep being answered.
    expect((await post('{}')).status).toBe(200);
    expect((await finish(held)).map((r) => r.status)).toEqual([200, 200]);
    await inUseIs(0);
    // With the budget free again, the same large body is accepted.
    expect((await post(paddedEmpty(LARGE))).status).toBe(200);
    await inUseIs(0);
  }, HANG);

  it('refuses a chunked body once it passes the budget, while it is still being sent', async () => {
    const held = await holdTwo();
    const chunked = rawPost({ 'Transfer-Encoding': 'chunked' });
    let sent = 0;
    let answered: Reply | null = null;
    void chunked.reply.then((r) => (answered = r));
    const chunk = ' '.repeat(64 * 1024);
    while (answered === null && sent < 4 * LARGE) {
      chunked.sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      sent += chunk.length;
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await chunked.reply;
    expect(r.status).toBe(503);
    expect(sent).toBeLessThan(4 * LARGE);
    chunked.sock.destroy();
    expect((await finish(held)).map((x) => x.status)).toEqual([200, 200]);
    await inUseIs(0);
  }, HANG);

  it('counts WebSocket frames in the same budget and refuses one by its id', async () => {
    const held = await holdTwo();
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api/ws?token=${srv.token}`, { origin: `http://127.0.0.1:${srv.port}` });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const replies: { id: unknown; ok: boolean; error?: { message: string } }[] = [];
    ws.on('message', (m) => {
      const f = JSON.parse(String(m));
      if (f.type === 'response') replies.push(f);
    });
    const frame = (id: number, bytes: number) => {
      const head = JSON.stringify({ type: 'request', id, method: 'app.info', params: {} });
      return head.slice(0, -1) + ' '.repeat(bytes - head.length) + '}';
    };
    ws.send(frame(7, LARGE));
    ws.send(frame(8, 200));
    await waitFor(() => replies.length === 2 || undefined, HANG, 'two WebSocket replies');
    expect(replies.find((r) => r.id === 7)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^the server is busy/) } });
    expect(replies.find((r) => r.id === 8)).toMatchObject({ ok: true });
    await finish(held);
    ws.send(frame(9, LARGE));
    await waitFor(() => replies.find((r) => r.id === 9), HANG, 'the reply to frame 9');
    expect(replies.find((r) => r.id === 9)).toMatchObject({ ok: true });
    ws.close();
    await inUseIs(0);
  }, HANG);

  it('gives the bytes back when a client goes away mid-body', async () => {
    const held = await holdTwo();
    for (const h of held) {
      h.reply.catch(() => {});
      h.sock.destroy();
    }
    await inUseIs(0);
    expect((await post(paddedEmpty(LARGE))).status).toBe(200);
  }, HANG);

  it('keeps within the budget and keeps answering under eight concurrent large bodies', async () => {
    const statuses = await Promise.all(Array.from({ length: 8 }, () => post(paddedEmpty(LARGE)).then((r) => r.status)));
    expect(statuses.every((s) => s === 200 || s === 503), statuses.join(' ')).toBe(true);
    expect(statuses).toContain(200);
    expect(srv.bodies.peak).toBeLessThanOrEqual(BUDGET + SMALL_BODY_RESERVE);
    await inUseIs(0);
    expect((await post('{}')).status).toBe(200);
  }, HANG);
});
