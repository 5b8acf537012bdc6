// The compute device page's server (src/device/page-server.ts): the page cross-origin isolated, and a
// WebSocket gate that only this launch's page passes, once: any local process can reach 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { servePage } from '../../src/device/page-server.ts';
import { parseRaw, rawExchange } from '../helpers/fuzz.ts';

describe('the device page server', () => {
  const token = randomBytes(24).toString('base64url');
  let root: string;
  let served: Awaited<ReturnType<typeof servePage>>;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'device-page-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html>');
    served = await servePage(root, token);
  });
  afterAll(() => {
    served?.server.closeAllConnections();
    served?.server.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The HTTP status a WebSocket handshake to `path` gets (101 when it opens; the socket then closes). */
  const handshake = (path: string) => new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}${path}`);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => { resolve(101); ws.close(); });
    ws.on('error', reject);
  });

  it('serves the page cross-origin isolated (threaded wasm needs SharedArrayBuffer)', async () => {
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      get(`http://127.0.0.1:${served.port}/`, (res) => { res.resume(); resolve({ status: res.statusCode, ...res.headers }); }).on('error', reject);
    });
    expect(headers).toMatchObject({ status: 200, 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
  });

  it('survives clients that reset their upgrade request (no ECONNRESET thrown out of the engine)', async () => {
    const thrown: Error[] = [];
    const take = (e: Error) => { thrown.push(e); };
    process.on('uncaughtException', take);
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const sock = connect(served.port, '127.0.0.1', () => {
            sock.write('GET /device?token=wrong HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
            sock.resetAndDestroy();
            resolve();
          }).on('error', reject);
        });
      }
      // The resets reach the server meanwhile (an unguarded one threw within milliseconds, every time).
      await new Promise((r) => setTimeout(r, 500));
      expect(await handshake('/device?token=nope')).toBe(403); // still answering
    } finally {
      process.off('uncaughtException', take);
    }
    expect(thrown).toEqual([]);
  });

  it('answers only requests that name it as 127.0.0.1:<port> or localhost:<port> (DNS rebinding), and malformed targets with 400', async () => {
    const status = async (head: string) => parseRaw(await rawExchange(served.port, `${head}\r\n\r\n`))?.status;
    expect(await status(`GET / HTTP/1.1\r\nHost: localhost:${served.port}`)).toBe(200);
    expect(await status(`GET / HTTP/1.1\r\nHost: rebound.example:${served.port}`)).toBe(403);
    expect(await status(`GET / HTTP/1.1\r\nHost: 127.0.0.1`)).toBe(403);
    expect(await status(`GET //x:99999 HTTP/1.1\r\nHost: 127.0.0.1:${served.port}`)).toBe(400);
    // The page's own token from another host name is refused too, and the socket stays free for the page.
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
    expect(await status(`GET /device?token=${token} HTTP/1.1\r\nHost: rebound.example:${served.port}\r\n${upgrade}`)).toBe(403);
    expect(await status(`GET //x:99999 HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\n${upgrade}`)).toBe(403);
  });

  it('refuses a WebSocket without the token (403), then takes the right one once and refuses a second', async () => {
    expect(await handshake('/device')).toBe(403);
    expect(await handshake('/device?token=')).toBe(403);
    expect(await handshake(`/device?token=${token.slice(1)}`)).toBe(403);
    expect(await handshake(`/device?token=${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBe(403);
    expect(await handshake(`/other?token=${token}`)).toBe(403);
    expect(await handshake(`/device?token=${token}`)).toBe(101);
    await expect(served.socket).resolves.toBeDefined();
    expect(await handshake(`/device?token=${token}`)).toBe(403);
  });
});
