// What the servers' fuzz tests share: a seeded generator (FUZZ_SEED replays a run), a bounded pool, and raw
// HTTP over a bare socket (for request lines and headers that no HTTP client would send).
import { connect } from 'node:net';

/** mulberry32: a small seeded generator, so a failure can be replayed with FUZZ_SEED. */
export function makeRng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p, bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))) };
}
export type Rng = ReturnType<typeof makeRng>;

/** Runs `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

/**
 * Sends `raw` on a fresh connection and resolves what came back: the whole response, or what had come when the
 * server closed the connection, or when `giveUpMs` passed (a request the server waits on, such as an unfinished
 * body, is given up by the client: no answer is owed, no crash allowed).
 */
export function rawExchange(port: number, raw: string | Buffer, giveUpMs = 1500): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port }, () => sock.write(raw));
    let data = '';
    const timer = setTimeout(() => (sock.destroy(), resolve(data)), giveUpMs);
    sock.on('data', (c) => {
      data += c;
      if (parseRaw(data)?.complete) (clearTimeout(timer), sock.destroy(), resolve(data));
    });
    sock.on('end', () => (clearTimeout(timer), resolve(data)));
    sock.on('error', (e: NodeJS.ErrnoException) => (clearTimeout(timer), e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(data) : reject(e)));
  });
}

/** A raw HTTP/1.1 response: status, content type, body (chunked decoded), and whether it is all there. */
export function parseRaw(text: string): { status: number; contentType: string | undefined; body: string; complete: boolean } | null {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const end = text.indexOf('\r\n\r\n');
  if (!m || end < 0) return null;
  const head = text.slice(0, end);
  let rest = text.slice(end + 4);
  const status = Number(m[1]);
  const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1];
  if (/\r\ntransfer-encoding: chunked/i.test(head)) {
    let body = '';
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) return { status, contentType, body, complete: false };
      const size = parseInt(rest.slice(0, nl), 16);
      if (size === 0) return { status, contentType, body, complete: true };
      const bytes = Buffer.from(rest.slice(nl + 2));
      if (bytes.length < size + 2) return { status, contentType, body, complete: false };
      body += bytes.subarray(0, size).toString('utf8');
      rest = bytes.subarray(size + 2).toString('utf8');
    }
  }
  const length = /\r\ncontent-length: (\d+)/i.exec(head)?.[1];
  return { status, contentType, body: rest, complete: length !== undefined && Buffer.byteLength(rest) >= Number(length) };
}

/**
 * Request targets that are not paths (issue 22: `new URL` threw on the first, and the engine died), for every
 * server's raw requests.
 */
export const MALFORMED_TARGETS = ['//x:99999', '//evil.example/', '//', '///', 'http://[', 'http://x:99999/', '*', '%', '/%ZZ', '/\u0000', 'x', '?token=1', '/a b'];
