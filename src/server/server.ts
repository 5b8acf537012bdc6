// Browser mode: the built renderer and the contract over HTTP + WebSocket, on 127.0.0.1 only.
//
// Access rules (documented in README, "Desktop shell and packaging"):
//   - every request whose Host is not 127.0.0.1:P or localhost:P → 403 (DNS rebinding)
//   - GET / and /index.html need ?token=… (the printed URL); the reply sets an HttpOnly, SameSite=Strict
//     cookie so that the page's own scripts, styles and images load without the token in their URLs
//   - other static files: the token by query, Authorization: Bearer, or that cookie
//   - the API (POST /api/<request>, the WebSocket /api/ws): the token by query or Bearer only — never
//     the cookie, so another site cannot borrow it — and the WebSocket's Origin must be this server
//   missing token → 401, wrong token → 403.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorInfo, StudioError, type ErrorCode } from '../protocol/contract.ts';
import { MAX_FRAME_BYTES, RequestFrame, type EventFrame, type ResponseFrame } from '../protocol/wire.ts';
import { StudioService, type ServiceOptions } from '../service/service.ts';
import { hostAllowed, newToken, originAllowed, securityHeaders, TOKEN_COOKIE, tokenEquals, tokenSources } from './security.ts';
import { indexFile, resolveStatic, sendFile } from './static.ts';

export interface ServerOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Open the URL in the default browser (never fails when there is none). */
  open?: boolean;
  workspace?: string;
  /** The built renderer; default dist-renderer/ at the repository root. */
  staticDir?: string;
  spawnEngine?: ServiceOptions['spawnEngine'];
  /** A fixed token (tests); default a random one. */
  token?: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  service: StudioService;
  close(): Promise<void>;
}

export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../dist-renderer', import.meta.url));

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  unsupported: 501,
  engine_crashed: 503,
  disconnected: 503,
  failed: 422,
  internal: 500,
};

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(message + '\n');
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new StudioError('invalid_request', `request body larger than ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>MobileViT Studio</title>
<p>The window's files are not built yet. Run <code>npm run build</code> (or <code>npx vite build</code>) and reload.</p>`;

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const token = opts.token ?? newToken();
  const staticDir = opts.staticDir ?? DEFAULT_STATIC_DIR;
  const log = opts.log ?? (() => {});
  const service = new StudioService({ mode: 'browser', workspace: opts.workspace, spawnEngine: opts.spawnEngine });
  let port = 0;

  /** null when allowed, else the status to refuse with. */
  const gate = (req: IncomingMessage, url: URL, allowCookie: boolean): number | null => {
    const t = tokenSources(req, url);
    const given = t.query ?? t.bearer ?? (allowCookie ? t.cookie : null);
    if (!given) return 401;
    return tokenEquals(given, token) ? null : 403;
  };

  const server = createServer(async (req, res) => {
    try {
      if (!hostAllowed(req.headers.host, port)) return refuse(res, 403, 'forbidden: unexpected Host header');
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      const headers = securityHeaders(port);
      if (url.pathname.startsWith('/api/')) {
        const denied = gate(req, url, false);
        if (denied) return refuse(res, denied, denied === 401 ? 'unauthorized: the session token is missing' : 'forbidden: wrong session token');
        if (req.method !== 'POST') return refuse(res, 405, 'use POST /api/<request> with a JSON body');
        const method = decodeURIComponent(url.pathname.slice('/api/'.length));
        let reply;
        try {
          const body = await readBody(req, MAX_FRAME_BYTES);
          let params: unknown;
          try {
            params = body.trim() ? JSON.parse(body) : {};
          } catch {
            throw new StudioError('invalid_request', `${method}: the body is not JSON`);
          }
          reply = await service.handle(method, params);
        } catch (e) {
          reply = { ok: false as const, error: errorInfo(e) };
        }
        res.writeHead(reply.ok ? 200 : HTTP_STATUS[reply.error.code], { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        return res.end(JSON.stringify(reply));
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed');
      const isIndex = url.pathname === '/' || url.pathname === '/index.html';
      const denied = gate(req, url, !isIndex);
      if (denied) return refuse(res, denied, denied === 401 ? 'unauthorized: open the URL that `mobilevit-studio serve` printed (it carries ?token=…)' : 'forbidden: wrong session token');
      if (isIndex) {
        const cookie = `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
        const ok = await sendFile(res, indexFile(staticDir), req.method === 'HEAD', { ...headers, 'Set-Cookie': cookie });
        if (!ok) {
          res.writeHead(503, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
          res.end(NOT_BUILT);
        }
        return;
      }
      const file = resolveStatic(staticDir, url.pathname);
      if (!file || !(await sendFile(res, file, req.method === 'HEAD', headers))) return refuse(res, 404, 'not found');
    } catch (e) {
      log(`server: ${(e as Error).message}`);
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy();
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostAllowed(req.headers.host, port) || !originAllowed(req.headers.origin, port)) return deny(403, 'Forbidden');
    if (url.pathname !== '/api/ws') return deny(404, 'Not Found');
    const denied = gate(req, url, false);
    if (denied) return deny(denied, denied === 401 ? 'Unauthorized' : 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const send = (ws: WebSocket, frame: ResponseFrame | EventFrame) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  wss.on('connection', (ws) => {
    ws.on('message', async (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return send(ws, { type: 'response', id: null, ok: false, error: { code: 'invalid_request', message: 'the frame is not JSON' } });
      }
      const frame = RequestFrame.safeParse(parsed);
      if (!frame.success) {
        const id = (parsed as { id?: unknown } | null)?.id;
        const safeId = typeof id === 'number' || (typeof id === 'string' && id.length <= 64) ? id : null;
        return send(ws, { type: 'response', id: safeId, ok: false, error: { code: 'invalid_request', message: 'malformed request frame: expected {type:"request", id, method, params}' } });
      }
      const reply = await service.handle(frame.data.method, frame.data.params);
      send(ws, { type: 'response', id: frame.data.id, ...reply });
    });
    ws.on('error', (e) => log(`websocket: ${e.message}`));
  });
  service.on((event, payload) => {
    for (const ws of wss.clients) send(ws, { type: 'event', event, payload });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  if (!existsSync(indexFile(staticDir))) log(`note: ${staticDir} has no index.html yet; run \`npm run build\` to build the window`);

  return {
    url,
    token,
    port,
    service,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await service.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
