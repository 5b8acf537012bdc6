// The device page's server on 127.0.0.1 (chromium.ts launches the browser that loads it): dist-device/ cross-origin
// isolated, and the WebSocket that only the page holding this launch's token may open, once.
//
// It lives in the engine (a `train` process, `serve`), and any local process can connect to it, so no request may
// throw out of it (issue 22: one `GET //x:99999 HTTP/1.1` made `new URL` throw and killed a training run):
//   - the Host header must be 127.0.0.1:<port> or localhost:<port> (a DNS-rebinding page brings its own), else 403;
//   - a request target that is not a URL path is answered 400, anything but GET/HEAD of a file 404;
//   - an upgrade is refused (403) unless it is to /device with the token, the first such; a client that resets
//     its socket is ignored;
//   - a frame the WebSocket library refuses (bad framing, over the size cap) closes that socket, and a frame that
//     does not decode (wire.ts) ends the channel: the engine hears why, the server keeps running.
// test/server/page-server-fuzz.test.ts fuzzes all of it against the server in a child process.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { hostAllowed, tokenEquals } from '../util/loopback.ts';
import { indexFile, resolveStatic, sendFile } from '../util/static-files.ts';
import type { Endpoint } from './channel.ts';
import { PAGE_HEADERS } from './page-headers.ts';
import { decodeFrame, encodeFrame } from './wire.ts';

const MAX_FRAME_BYTES = 1 << 30;

export interface PageServer {
  server: Server;
  port: number;
  /** The page's WebSocket, once it has connected with the token. */
  socket: Promise<WebSocket>;
}

/** The request's path and query, or null when its target is not one (`//x:99999`, `http://[`, …). */
function requestUrl(req: IncomingMessage): URL | null {
  const target = req.url ?? '';
  // Only origin-form targets ("/path?query"): "//host/…" would be read as another authority.
  if (!target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://127.0.0.1');
  } catch {
    return null;
  }
}

/** Ends an upgrading socket with a bare status line (it has no HTTP response object). */
function refuseUpgrade(sock: Duplex, status: string): void {
  if (!sock.destroyed) sock.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Serves `root` (dist-device/) and accepts one WebSocket carrying `token`. */
export async function servePage(root: string, token: string): Promise<PageServer> {
  let port = 0;
  const server = createServer((req, res) => {
    const answer = (status: number) => { if (!res.headersSent) res.writeHead(status, { 'Content-Length': '0' }).end(); };
    if (!hostAllowed(req.headers.host, port)) return answer(403);
    const url = requestUrl(req);
    if (!url) return answer(400);
    const file = url.pathname === '/' ? indexFile(root) : resolveStatic(root, url.pathname);
    const head = req.method === 'HEAD';
    if (!file || (req.method !== 'GET' && !head)) return answer(404);
    sendFile(res, file, head, PAGE_HEADERS).then((sent) => { if (!sent) answer(404); }, () => res.destroy());
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  let taken = false;
  const socket = new Promise<WebSocket>((resolve) => {
    server.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => {
      // Node leaves an upgrading socket without an error listener: a client that resets it would otherwise throw
      // ECONNRESET out of the engine.
      sock.on('error', () => sock.destroy());
      const url = requestUrl(req);
      if (!hostAllowed(req.headers.host, port) || taken || url?.pathname !== '/device' || !tokenEquals(url.searchParams.get('token'), token)) {
        refuseUpgrade(sock, '403 Forbidden');
        return;
      }
      taken = true;
      wss.handleUpgrade(req, sock, head, (ws) => {
        // Until socketEndpoint listens, a frame ws refuses must not throw: the close that follows ends the channel.
        ws.on('error', () => undefined);
        resolve(ws);
      });
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return { server, port, socket };
}

/** An endpoint over the page's WebSocket: wire.ts frames; a frame that does not decode ends the channel. */
export function socketEndpoint(ws: WebSocket): Endpoint {
  const closes: ((why: string) => void)[] = [];
  const closeWith = (why: string) => { for (const c of closes.splice(0)) c(why); };
  return {
    send: (m) => ws.send(encodeFrame(m)),
    onMessage: (fn) => void ws.on('message', (data: Buffer, binary: boolean) => {
      let message: unknown;
      try {
        if (!binary) throw new Error('the page sent a text frame (frames are binary)');
        message = decodeFrame(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
      } catch (e) {
        closeWith((e as Error).message);
        ws.terminate();
        return;
      }
      fn(message);
    }),
    onClose: (fn) => {
      closes.push(fn);
      if (closes.length === 1) {
        ws.on('close', () => closeWith('the page closed its connection (the browser or its tab crashed, or was closed)'));
        ws.on('error', (e) => closeWith(e.message));
      }
    },
    close: () => ws.close(),
  };
}
