// Fuzzing the Chromium device's page server (src/device/page-server.ts) the way fuzz.test.ts fuzzes the
// browser-mode server, but against a server in a child process wired as the engine wires it: issue 22 measured a
// training run killed by one request line (`GET //x:99999 HTTP/1.1`). It asserts: the process survives every
// request line, header, upgrade and frame, nothing reaches its stderr, every answer is a 4xx (or the connection
// closes), a frame that breaks the channel ends that channel with a reason, and the server still serves its page
// and takes its page's socket afterwards. FUZZ_SEED=<n> replays a run.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeFrame } from '../../src/device/wire.ts';
import { MALFORMED_TARGETS, makeRng, parseRaw, pool, rawExchange, type Rng } from '../helpers/fuzz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261222);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/page-server-child.ts', import.meta.url));
/** Only for a hang: the child's start (tsx compiles it) on a loaded machine. */
const START_LIMIT_MS = 120_000;

interface Served { port: number; token: string }

let child: ChildProcessWithoutNullStreams;
let stderr = '';
const waiting: ((line: Record<string, unknown>) => boolean)[] = [];
const closedChannels = new Map<number, string>();

/** The next line of the child's that `accept` takes. */
function nextLine(accept: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => waiting.push((line) => (accept(line) ? (resolve(line), true) : false)));
}

async function serve(): Promise<Served> {
  const line = nextLine((l) => typeof l.port === 'number');
  child.stdin.write('serve\n');
  return (await line) as unknown as Served;
}

/** A channel's end as the child heard it (its reason), once it came. */
async function channelClosed(port: number): Promise<string> {
  if (!closedChannels.has(port)) await nextLine((l) => l.closed === port);
  return closedChannels.get(port)!;
}

function alive(): void {
  expect(child.exitCode, `the page server's process exited; its stderr:\n${stderr.slice(0, 2000)}`).toBeNull();
  expect(stderr).toBe('');
}

beforeAll(async () => {
  child = spawn(process.execPath, ['bin/run-ts.mjs', CHILD], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    if (typeof line.closed === 'number') closedChannels.set(line.closed, String(line.why));
    const i = waiting.findIndex((w) => w(line));
    if (i >= 0) waiting.splice(i, 1);
  });
}, START_LIMIT_MS);

afterAll(() => child?.stdin.end());

const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** A hostile request for a server on `port` whose page's token is `token` (never sent whole: the socket stays free). */
function hostileRequest(r: Rng, { port, token }: Served): string | Buffer {
  const host = `Host: 127.0.0.1:${port}\r\n`;
  const target = () => r.pick([...MALFORMED_TARGETS, '/', '/index.html', '/device', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd']);
  const method = () => r.pick(['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS', 'DELETE', 'X']);
  const cases: (() => string | Buffer)[] = [
    () => r.bytes(r.int(300) + 1),
    () => `${method()} ${target()} HTTP/1.1\r\n${host}\r\n`,
    () => `GET / HTTP/1.1\r\n${r.pick(['Host: evil.example\r\n', 'Host: \r\n', '', `Host: localhost:${port}\r\nHost: evil.example\r\n`, `Host: 127.0.0.1:${port}x\r\n`, `Host: ${'h'.repeat(20_000)}\r\n`])}\r\n`,
    () => `GET / HTTP/1.1\r\n${host}${r.pick(['X: a\u0000b', 'X : y', ' folded: y', 'X-Big: ' + 'a'.repeat(20_000), 'Content-Length: -1', 'Content-Length: 1\r\nContent-Length: 2', 'Transfer-Encoding: chunked\r\n\r\nzz'])}\r\n\r\n`,
    () => `GET ${target()}?token=${r.pick(['', 'x', token.slice(1)])} HTTP/1.1\r\n${host}${UPGRADE}\r\n`,
    () => `GET /device?token=${token.slice(0, -1)} HTTP/1.1\r\n${r.pick([host, 'Host: evil.example\r\n', ''])}${UPGRADE}\r\n`,
    () => `GET ${target()} HTTP/1.1\r\n${host}Upgrade: ${r.pick(['websocket', 'h2c', '', '\u00ff'])}\r\nConnection: Upgrade\r\n${r.pick(['', 'Sec-WebSocket-Version: 99\r\n', 'Sec-WebSocket-Key: x\r\n'])}\r\n`,
    () => `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${host}\r\n`,
  ];
  return r.pick(cases)();
}

describe(`fuzzing the device page server (seed ${SEED})`, () => {
  it('answers or closes 400 hostile request lines, headers and upgrades, and its process lives on', async () => {
    const r = makeRng(SEED);
    const served = await serve();
    const requests = Array.from({ length: 400 }, () => hostileRequest(r, served));
    // The request line that killed a training run, in every handler.
    requests.unshift(`GET //x:99999 HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n\r\n`, `GET //x:99999 HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n${UPGRADE}\r\n`);
    const statuses = new Map<number, number>();
    await pool(requests, 8, async (raw, i) => {
      const text = await rawExchange(served.port, raw).catch((e: Error) => {
        throw new Error(`case ${i} (seed ${SEED}): ${e.message}; the page server's process ${child.exitCode === null ? 'lives' : `exited with ${child.exitCode}`}: ${stderr.slice(0, 1000)}`);
      });
      const reply = parseRaw(text);
      if (!reply) return; // closed without an answer (CONNECT, or a request that waits for more)
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      if (reply.status >= 500 || reply.status === 101) throw new Error(`case ${i} (seed ${SEED}) got ${reply.status}: ${String(raw).slice(0, 200)}`);
    });
    alive();
    // Each kind of refusal happened (not only the parser's 400s).
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 403, 404]));
    // And the page still loads, only under its own host name, and its socket is still free for the page.
    expect(parseRaw(await rawExchange(served.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n\r\n`))?.status).toBe(200);
    expect(parseRaw(await rawExchange(served.port, `GET / HTTP/1.1\r\nHost: localhost:${served.port}\r\n\r\n`))?.status).toBe(200);
    expect(parseRaw(await rawExchange(served.port, `GET / HTTP/1.1\r\nHost: attacker.example:${served.port}\r\n\r\n`))?.status).toBe(403);
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/device?token=${served.token}`);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.close();
    alive();
  }, 120_000);

  it('a random frame on the page socket ends that channel with a reason, never the process', async () => {
    const r = makeRng(SEED + 1);
    for (let round = 0; round < 24; round++) {
      const served = await serve();
      const kind = round % 4;
      if (kind < 3) {
        const ws = new WebSocket(`ws://127.0.0.1:${served.port}/device?token=${served.token}`);
        await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
        if (kind === 0) ws.send(r.bytes(r.int(200) + 1), { binary: true }); // random bytes as a frame
        else if (kind === 1) ws.send(r.pick(['', '{}', 'not a frame', '\u0000']), { binary: false }); // text frames
        else {
          // A well-formed frame with some of its bytes changed.
          const frame = Buffer.from(encodeFrame({ id: 1, ok: true, result: { x: new Float32Array(8) } }));
          for (let k = r.int(4) + 1; k > 0; k--) frame[r.int(frame.length)] = r.int(256);
          ws.send(frame, { binary: true });
        }
        // A changed frame can still decode: then the channel lives until the client goes away.
        setTimeout(() => ws.terminate(), 2000);
      } else {
        // A valid handshake, then bytes that are not WebSocket framing at all (unmasked, bad opcodes, huge lengths).
        const answer = await new Promise<string>((resolve) => {
          const sock = connect(served.port, '127.0.0.1', () => sock.write(`GET /device?token=${served.token} HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n${UPGRADE}\r\n`));
          sock.once('data', (c) => {
            sock.write(Buffer.concat([r.pick([Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x8f, 0x00]), Buffer.alloc(0)]), r.bytes(r.int(100) + 1)]));
            resolve(String(c));
          });
          sock.on('error', () => undefined); // the server may reset it
          sock.once('close', () => resolve(''));
          setTimeout(() => sock.destroy(), 2000);
        });
        expect(answer, `round ${round}`).toMatch(/^HTTP\/1\.1 101/);
      }
      expect(await channelClosed(served.port), `round ${round}`).toMatch(/\w/);
    }
    alive();
  }, 120_000);
});
