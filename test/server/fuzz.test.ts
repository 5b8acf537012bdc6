// Bounded fuzzing of the browser-mode API (issue 13): thousands of random and hostile payloads, seeded,
// across every request name of the contract, over HTTP and over the WebSocket, against the real server and
// service with the fake engine (no model is trained). It asserts: no crash, every HTTP reply is JSON of the
// contract's Reply shape and no 500, every WebSocket frame gets exactly one response, nothing hangs, no
// stack trace in a message, and the server answers normally afterwards.
// FUZZ_SEED=<n> replays a run; FUZZ_CASES=<n> scales it (default 2,500 per transport).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REQUEST_NAMES } from '../../src/protocol/contract.ts';
import { Reply } from '../../src/protocol/wire.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { MALFORMED_TARGETS, makeRng, parseRaw, pool, rawExchange, type Rng } from '../helpers/fuzz.ts';
import { spawnFakeEngine, tempDir } from '../engine/fixtures/studio.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const CASES = Number(process.env.FUZZ_CASES ?? 2500);
/** No single reply may take longer than this. */
const REPLY_TIMEOUT_MS = 10_000;

let tmp: ReturnType<typeof tempDir>;
let srv: RunningServer;
let dataDir: string;
let imagePath: string;

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then', '', ' ', 'runId', 'path', 'settings', 'model', 'image'];
const HOSTILE_NUMBERS = [0, -0, -1, 1, 0.5, 31, 32, 2 ** 31, 2 ** 31 - 1, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, 1e21, 100_000, 100_001, 4096, 4097];

function hostileStrings(): string[] {
  return [
    '', ' ', '.', '..', '../../etc/passwd', '/etc/passwd', '/etc/shadow', 'a\u0000b', '\u0000', '__proto__', 'constructor',
    'toString', '%00', '%E0%A4%A', '\u202e\u0041', '\ud800', '😀'.repeat(50), 'x'.repeat(5000), '..\\..\\windows\\win.ini',
    'C:\\Windows\\System32', 'data:image/png;base64,AAAA', 'data:image/png;base64,' + 'A'.repeat(400), 'data:text/html,<b>',
    "'; DROP TABLE runs; --", '<script>alert(1)</script>', '${process.exit(1)}', '{{7*7}}', 'NaN', 'Infinity', '-1', '1e309',
    '/dev/null', '/dev/zero', '/dev/urandom', '/proc/self/status', '/proc/self/environ', 'relative/dir', '~/ws', '/',
    dataDir, join(dataDir, 'class_0'), imagePath, join(tmp.dir, 'missing'), join(tmp.dir, 'missing', '..', '..', 'etc'),
    'mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s', 'mobilenetv2_100', 'best', 'last', 'rollout', 'mean', 'auto', 'cpu', 'wasm',
  ];
}

function randomString(r: Rng): string {
  if (r.chance(0.6)) return r.pick(hostileStrings());
  const len = r.pick([0, 1, 3, 8, 40, 300]);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCodePoint(r.chance(0.8) ? 32 + r.int(95) : r.int(0x2ffff));
  return s;
}

function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 8);
  switch (k) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.chance(0.5) ? r.pick(HOSTILE_NUMBERS) : (r.next() - 0.5) * 10 ** r.int(12);
    case 3:
    case 4: return randomString(r);
    // Long arrays hold only scalars, so that a payload stays small (nesting would multiply their length).
    case 5: return r.chance(0.1) ? Array.from({ length: 300 }, () => randomValue(r, 4)) : Array.from({ length: r.pick([0, 1, 2, 5]) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) Object.defineProperty(o, r.chance(0.5) ? r.pick(HOSTILE_KEYS) : randomString(r).slice(0, 30), { value: randomValue(r, depth + 1), enumerable: true, configurable: true, writable: true });
      return o;
    }
  }
}

/** Plausible params for each request: the fuzzer mutates these, so that it also gets past the schemas. */
function seedParams(name: string, r: Rng): Record<string, unknown> {
  const runId = r.pick(['run-1', 'nope', '..', 'a'.repeat(128), '20260101-000000-abc', ...runIds]);
  const model = r.chance(0.5) ? { runId, checkpoint: r.pick(['best', 'last']) } : { variant: r.pick(['mobilevit_xxs', 'mobilevit_s', 'mobilenetv2_100']), numClasses: r.pick([1, 2, 100_000]), labels: r.chance(0.5) ? ['a', 'b'] : undefined };
  const image = r.chance(0.5) ? { path: imagePath } : { dataUrl: 'data:image/png;base64,iVBORw0KGgo=' };
  switch (name) {
    case 'settings.set': return r.chance(0.5) ? { backend: r.pick(['auto', 'cpu', 'wasm', 'tensorflow', 'nope']) } : { workspace: r.pick(['/', '/etc', 'rel', join(tmp.dir, 'ws2')]) };
    case 'dialog.openFolder': return { title: 't' };
    case 'dialog.openFile': return { title: 't', filters: [{ name: 'Images', extensions: ['png', 'jpg'] }] };
    case 'dataset.scan': return { path: dataDir, valFraction: 0.2, seed: r.int(100) };
    case 'dataset.thumbnails': return { path: dataDir, class: r.pick(['class_0', 'nope', '..']), limit: r.pick([1, 24, 200, 201]), offset: r.pick([0, 5, 10_000_000]), size: r.pick([16, 96, 256, 257]) };
    case 'train.start': return { settings: { data: dataDir, epochs: 1, imageSize: 32, batchSize: 2, augmentation: {} }, name: 'fuzz' };
    case 'runs.rename': return { runId, name: randomString(r) };
    case 'runs.annotate': return { runId, tags: [randomString(r)], notes: randomString(r) };
    case 'eval.run': return { runId, checkpoint: 'best', maxMisclassified: r.pick([0, 48, 501]) };
    case 'inspect.predict': return { model, image, imageSize: r.pick([32, 64, 1024, 1025]) };
    case 'inspect.attention': return { model, image, block: r.int(20), layer: r.pick([0, 'rollout', 65]), head: r.pick([0, 'mean']), patch: [r.int(5), r.int(5)], pixel: r.pick(['mean', [0, 1]]) };
    case 'inspect.receptiveField': return { model, imageSize: r.pick([32, 128, 513]), block: r.int(300), location: [1, 1], seed: 1 };
    case 'inspect.profile': return { variant: 'mobilevit_xxs', imageSize: 64, batch: r.pick([1, 257]), runs: r.pick([1, 1001]) };
    case 'train.stop':
    case 'train.pause':
    case 'train.resume':
    case 'runs.get':
    case 'runs.delete': return { runId };
    default: return {};
  }
}

function mutate(v: unknown, r: Rng, depth = 0): unknown {
  if (r.chance(0.15)) return randomValue(r, depth);
  if (Array.isArray(v)) return v.map((x) => mutate(x, r, depth + 1));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!r.chance(0.1)) o[k] = mutate(x, r, depth + 1);
    if (r.chance(0.1)) o[r.pick(HOSTILE_KEYS)] = randomValue(r, depth + 1);
    return o;
  }
  return v;
}

const runIds: string[] = [];

/** One HTTP case: the request name in the URL and the raw body. */
function httpCase(r: Rng): { name: string; body: string; headers: Record<string, string> } {
  const name = r.chance(0.9)
    ? r.pick(REQUEST_NAMES)
    : r.pick(['', 'no.such', '__proto__', 'constructor', 'toString', 'app.info/..', '%E0%A4%A', '%', '%2e%2e', 'app.info%00', encodeURIComponent(randomString(r).replace(/[\ud800-\udfff]/g, '?'))]);
  const k = r.int(10);
  let body: string;
  if (k < 5) body = JSON.stringify(mutate(seedParams(name, r), r));
  else if (k < 7) body = JSON.stringify(randomValue(r));
  else if (k === 7) body = JSON.stringify(seedParams(name, r));
  else {
    body = r.pick([
      '', ' ', 'null', 'true', '0', '"x"', '[]', '{', '{"a":', '\ufeff{}', '{"__proto__":{"polluted":1}}', 'NaN', '1e999', '-',
      '['.repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(3000) + '1' + '}'.repeat(3000), '\u0000', '{"runId":"\\ud800"}',
      JSON.stringify({ settings: null }), JSON.stringify({ model: null, image: null }), JSON.stringify({ labels: Array(1000).fill('') }),
    ]);
  }
  const headers: Record<string, string> = {};
  if (r.chance(0.2)) headers['Content-Type'] = r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']);
  // The fake engine hangs on purpose for image paths containing "hang" (engine tests use it).
  return { name, body: body.replace(/hang/gi, 'hxng'), headers };
}

interface HttpReply { status: number; type: string | undefined; body: string }
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: srv.port, path, method: 'POST', agent, headers: { Host: `127.0.0.1:${srv.port}`, Authorization: `Bearer ${srv.token}`, ...headers } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: data }));
      },
    );
    req.setTimeout(REPLY_TIMEOUT_MS, () => req.destroy(new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The checks every reply must pass; returns the parsed reply. */
function checkReply(what: string, text: string): Reply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${what}: the reply is not JSON: ${text.slice(0, 200)}`);
  }
  const r = Reply.safeParse(parsed);
  if (!r.success) throw new Error(`${what}: the reply is not a { ok, result | error } reply: ${text.slice(0, 200)}`);
  if (!r.data.ok) {
    const m = r.data.error.message;
    if (/\n\s+at |node:internal|\.ts:\d+:\d+/.test(m)) throw new Error(`${what}: the error carries a stack trace: ${m.slice(0, 300)}`);
    if (/Cannot (read|convert|set) |is not a function|undefined or null|\[object Object\]/.test(m)) throw new Error(`${what}: the error is an unhandled JavaScript failure: ${m.slice(0, 300)}`);
    if (r.data.error.code === 'internal') throw new Error(`${what}: internal error: ${m.slice(0, 300)}`);
  }
  return r.data;
}

async function healthy(): Promise<void> {
  const info = await post('/api/app.info', '{}');
  expect(info.status).toBe(200);
  expect(JSON.parse(info.body)).toMatchObject({ ok: true, result: { mode: 'browser' } });
  const list = await post('/api/runs.list', '');
  expect(list.status).toBe(200);
}

beforeAll(async () => {
  tmp = tempDir('studio-fuzz-');
  const data = await makeDataset(join(tmp.dir, 'data'), { classes: 2, perClass: 3, size: 16, seed: 1 });
  dataDir = data.root;
  imagePath = data.files[0].path;
  const web = join(tmp.dir, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>studio</title>');
  srv = await startServer({ port: 0, workspace: join(tmp.dir, 'workspace'), staticDir: web, spawnEngine: spawnFakeEngine });
  // One real run, so run ids in the payloads sometimes name something.
  const started = await post('/api/train.start', JSON.stringify({ settings: { data: dataDir, epochs: 1, imageSize: 32 }, name: 'target' }));
  const reply = checkReply('train.start', started.body);
  if (reply.ok) {
    const id = (reply.result as { runId: string }).runId;
    runIds.push(id);
    checkReply('train.stop', (await post('/api/train.stop', JSON.stringify({ runId: id }))).body);
  }
});

afterAll(async () => {
  agent.destroy();
  await srv?.close();
  tmp?.remove();
});

describe(`fuzzing the browser-mode API (seed ${SEED})`, () => {
  it(`answers ${CASES} random and hostile HTTP requests across every request name in JSON, never 500`, async () => {
    const r = makeRng(SEED);
    const cases = Array.from({ length: CASES }, () => httpCase(r));
    // Every request name of the contract is exercised, and more than once.
    for (const name of REQUEST_NAMES) expect(cases.filter((c) => c.name === name).length, name).toBeGreaterThan(20);
    const statuses = new Map<number, number>();
    const t0 = Date.now();
    await pool(cases, 8, async (c, i) => {
      const what = `case ${i} (seed ${SEED}): POST /api/${c.name} ${c.body.slice(0, 120)}`;
      const res = await post(`/api/${c.name}`, c.body, c.headers).catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500 && res.status !== 501 && res.status !== 503) throw new Error(`${what}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
      if (res.type !== 'application/json') throw new Error(`${what}: Content-Type ${res.type}`);
      checkReply(what, res.body);
    });
    console.log(`fuzz (seed ${SEED}): ${CASES} HTTP requests in ${Date.now() - t0} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(Date.now() - t0).toBeLessThan(60_000);
    // Enough got past the schemas to reach the handlers (not only 400s).
    expect(statuses.get(200) ?? 0).toBeGreaterThan(CASES / 20);
    await healthy();
  });

  it(`answers exactly once to each of ${CASES} random and hostile WebSocket frames`, async () => {
    const r = makeRng(SEED + 1);
    const s = new WebSocket(`ws://127.0.0.1:${srv.port}/api/ws?token=${srv.token}`);
    await new Promise((res, rej) => (s.once('open', res), s.once('error', rej)));
    const replies = new Map<string, number>();
    let responses = 0;
    let closed = false;
    s.on('close', () => (closed = true));
    const problems: string[] = [];
    s.on('message', (d) => {
      const f = JSON.parse(d.toString());
      if (f.type === 'event') return;
      if (f.type !== 'response') return problems.push(`unexpected frame ${d.toString().slice(0, 200)}`);
      try {
        const { type: _t, id, ...reply } = f;
        checkReply(`frame ${JSON.stringify(id)}`, JSON.stringify(reply));
      } catch (e) {
        problems.push((e as Error).message);
      }
      responses++;
      if (f.id !== null) replies.set(String(f.id), (replies.get(String(f.id)) ?? 0) + 1);
    });

    const ids: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const k = r.int(10);
      if (k < 7) {
        const { name, body } = httpCase(r);
        let isJson = true;
        try {
          JSON.parse(body);
        } catch {
          isJson = false;
        }
        const id = r.chance(0.5) ? i : `s${i}`;
        ids.push(String(id));
        const head = `{"type":"request","id":${JSON.stringify(id)},"method":${JSON.stringify(decodeURIComponentSafe(name))}`;
        // The body is spliced in as text: re-serialising a 5000-deep array would overflow this stack.
        s.send(r.chance(0.9) ? `${head},"params":${isJson ? body : JSON.stringify(body)}}` : `${head}}`);
      } else if (k < 9) {
        // Malformed frames: answered once each (with the id when it is readable; none collides with ids).
        s.send(r.pick(['not json', '', '{', 'null', '[]', '42', '"request"', JSON.stringify({ type: 'request' }), JSON.stringify({ type: 'request', id: -1, method: 'app.info' }),
          JSON.stringify({ type: 'request', id: 'x'.repeat(65), method: 'app.info' }), JSON.stringify({ type: 'response', id: 'resp', ok: true }),
          JSON.stringify({ type: 'request', id: 1.5, method: 'app.info' }), JSON.stringify({ type: 'request', id: null, method: 'app.info' }),
          JSON.stringify({ type: 'request', id: {}, method: 'app.info' }), JSON.stringify({ type: 'request', id: -3, method: 'x'.repeat(101) }),
          JSON.stringify(randomValue(r)) === undefined ? 'undefined' : JSON.stringify([randomValue(r)])]));
      } else {
        s.send(r.bytes(r.int(64) + 1), { binary: true });
      }
    }
    const deadline = Date.now() + 30_000;
    while (responses < CASES && Date.now() < deadline && !closed) await new Promise((res) => setTimeout(res, 20));
    expect(closed, 'the server closed the WebSocket').toBe(false);
    expect(problems.slice(0, 5)).toEqual([]);
    expect(ids.filter((id) => !replies.has(id)).slice(0, 10), 'requests never answered (hung)').toEqual([]);
    expect(ids.filter((id) => replies.get(id)! > 1).slice(0, 10), 'requests answered more than once').toEqual([]);
    expect(responses, 'one response per frame').toBe(CASES);
    s.close();
    await healthy();
  });

  it('answers (or closes) every one of 300 malformed raw HTTP requests, and keeps serving', async () => {
    const r = makeRng(SEED + 2);
    const auth = `Authorization: Bearer ${srv.token}\r\n`;
    const host = `Host: 127.0.0.1:${srv.port}\r\n`;
    const raws = [
      () => r.bytes(r.int(300) + 1),
      () => `GARBAGE\r\n\r\n`,
      () => `POST /api/app.info HTTP/1.1\r\n${host}${auth}Content-Length: 10\r\n\r\n{}`, // shorter than declared: times out server-side, closed by us
      () => `POST /api/app.info HTTP/1.1\r\n${host}${auth}Content-Length: -1\r\n\r\n`,
      () => `POST /api/app.info HTTP/1.1\r\n${host}${auth}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      () => `POST /api/app.info HTTP/1.1\r\n${host}${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      () => `POST /api/app.info HTTP/1.1\r\n${host}${auth}Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      () => `POST /api/app.info HTTP/1.1\r\n${host}${auth}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      () => `POST http://evil.example/api/app.info HTTP/1.1\r\n${host}${auth}Content-Length: 2\r\n\r\n{}`,
      () => `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${host}${auth}\r\n`,
      () => `PUT /api/runs.delete HTTP/1.1\r\n${host}${auth}Content-Length: 2\r\n\r\n{}`,
      () => `POST /api/${encodeURIComponent(r.pick(REQUEST_NAMES))} HTTP/1.0\r\n${host}${auth}\r\nnull`,
      () => `GET /api/ws HTTP/1.1\r\n${host}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: nope\r\n\r\n`,
      () => `GET /api/ws?token=${srv.token} HTTP/1.1\r\n${host}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n`,
      () => `GET /%ZZ HTTP/1.1\r\n${host}\r\n`,
      () => `GET //evil.example/ HTTP/1.1\r\n${host}\r\n`,
      () => `POST /api/app.info HTTP/1.1\r\nHost: \r\n${auth}\r\n`,
      () => `${r.pick(['GET', 'POST', 'HEAD'])} ${r.pick(MALFORMED_TARGETS)} HTTP/1.1\r\n${host}${auth}\r\n`,
      () => `GET ${r.pick(MALFORMED_TARGETS)} HTTP/1.1\r\n${host}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n`
        + `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    ];
    const cases = Array.from({ length: 300 }, () => r.pick(raws)());
    let checked = 0;
    await pool(cases, 8, async (raw, i) => {
      const text = await rawExchange(srv.port, raw);
      const reply = parseRaw(text);
      if (!reply) return; // closed without an answer (e.g. CONNECT, or given up above)
      if (reply.status >= 500) throw new Error(`raw case ${i}: ${text.slice(0, 300)}`);
      // WebSocket handshakes (/api/ws) are refused in plain HTTP, as the ws library does; the rest of /api/ is JSON.
      const target = String(raw).split(' ')[1] ?? '';
      if (/^\/api\/(?!ws)/.test(target) && reply.complete) {
        expect(reply.contentType, `raw case ${i}`).toBe('application/json');
        checkReply(`raw case ${i}`, reply.body);
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(50);
    await healthy();
  });

  it('still serves pages and refuses bad tokens after the fuzzing (the server is healthy)', async () => {
    await healthy();
    expect((await post('/api/app.info', '{}', { Authorization: 'Bearer wrong' })).status).toBe(403);
    const s = new WebSocket(`ws://127.0.0.1:${srv.port}/api/ws?token=${srv.token}`);
    const reply = await new Promise<string>((res, rej) => {
      s.once('open', () => s.send(JSON.stringify({ type: 'request', id: 1, method: 'runs.list', params: {} })));
      s.on('message', (d) => (JSON.parse(d.toString()).id === 1 ? res(d.toString()) : undefined));
      s.once('error', rej);
    });
    expect(JSON.parse(reply)).toMatchObject({ type: 'response', id: 1, ok: true });
    s.close();
    // '{"__proto__": …}' bodies polluted no prototype of this process (the server runs in it).
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
