// Browser mode: the built renderer and the contract over HTTP + WebSocket, on 127.0.0.1 only.
//
// Access rules (documented in README, "Desktop shell and packaging"):
//   - every request whose Host is not 127.0.0.1:P or localhost:P → 403 (DNS rebinding)
//   - GET / and /index.html need ?token=… (the printed URL); the reply sets an HttpOnly, SameSite=Strict
//     cookie so that the page's own scripts, styles and images load without the token in their URLs.
//     Cookies ignore ports (every web server on 127.0.0.1 receives it), so its value is a separate
//     random asset key that unlocks static files only, never the token.
//   - other static files: the token by query, Authorization: Bearer, or that cookie
//   - the API (POST /api/<request>, the WebSocket /api/ws): the token by query or Bearer only, and the
//     WebSocket's Origin must be this server. An empty ?token= counts as absent; the scheme is
//     case-insensitive (RFC 9110); every token presented must be right.
//   missing token → 401, wrong token → 403. Every /api/ reply is JSON, refusals included.
// Request bodies (POST and WebSocket frames): each at most MAX_FRAME_BYTES (413), all together within a
// budget (503 at once, Retry-After: 1); see bodies.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, RENDERER } from '../build/outputs.ts';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { errorInfo, StudioError, type ErrorCode } from '../protocol/contract.ts';
import { MAX_FRAME_BYTES, RequestFrame, type EventFrame, type ResponseFrame } from '../protocol/wire.ts';
import { StudioService, hostOptions, type ServiceOptions } from '../service/service.ts';
import { BodyBudget, bodyRefusal, frameIdFromHead, messageBytes, readBody, ServerBusy } from './bodies.ts';
import { hostAllowed } from '../util/loopback.ts';
import { browserHost } from './host.ts';
import { assetCookieName, checkAccess, newToken, originAllowed, tokenSources } from './security.ts';
import { indexFile } from '../util/static-files.ts';

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
  /** Bytes of request bodies (HTTP and WebSocket) held at once across connections (default DEFAULT_BODY_BUDGET). */
  bodyBudget?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  service: StudioService;
  /** The request bodies held now and at most (what the budget allowed). */
  bodies: BodyBudget;
  close(): Promise<void>;
}

/** Two of the largest bodies at once: ~300 MB of the server's memory while both are parsed and handled. */
export const DEFAULT_BODY_BUDGET = 2 * MAX_FRAME_BYTES;

/** The window's built files, beside src/ (or beside dist-cli/ and dist-electron/ when this file runs compiled). */
export const DEFAULT_STATIC_DIR = join(ROOT, RENDERER.swapDir!);

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

/** An /api/ refusal: the same { ok: false, error } shape as every other API reply. */
function refuseJson(res: ServerResponse, status: number, code: ErrorCode, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extra });
  res.end(JSON.stringify({ ok: false, error: { code, message } }));
}

/** A host's response (a file of the window) written to a Node response, with `extra` headers. */
async function sendResponse(res: ServerResponse, r: Response, extra: Record<string, string> = {}): Promise<void> {
  res.writeHead(r.status, { ...Object.fromEntries(r.headers), ...extra });
  res.end(Buffer.from(await r.arrayBuffer()));
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>MobileViT Studio</title>
<p>The window's files are not built yet. Run <code>npm run build</code> (or <code>npx vite build</code>) and reload.</p>`;

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const token = opts.token ?? newToken();
  /** The static-files cookie's value: never the token (see the top of this file). */
  const assetKey = newToken();
  const staticDir = opts.staticDir ?? DEFAULT_STATIC_DIR;
  const log = opts.log ?? (() => {});
  let port = 0;
  const host = browserHost({ staticDir, port: () => port, spawnEngine: opts.spawnEngine });
  const service = new StudioService({ ...hostOptions(host), workspace: opts.workspace });
  const bodies = new BodyBudget(opts.bodyBudget ?? DEFAULT_BODY_BUDGET);

  /** null when allowed, else the status to refuse with. */
  const gate = (req: IncomingMessage, url: URL, allowCookie: boolean): number | null =>
    checkAccess(tokenSources(req, url, port), token, allowCookie ? assetKey : null);

  const server = createServer(async (req, res) => {
    try {
      const isApi = (req.url ?? '').startsWith('/api/');
      if (!hostAllowed(req.headers.host, port)) {
        return isApi ? refuseJson(res, 403, 'invalid_request', 'forbidden: unexpected Host header') : refuse(res, 403, 'forbidden: unexpected Host header');
      }
      let url: URL;
      try {
        url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      } catch {
        return isApi ? refuseJson(res, 400, 'invalid_request', 'the request URL is malformed') : refuse(res, 400, 'bad request: malformed URL');
      }
      const headers = host.windowHeaders();
      // Routed on the path as sent: "/api/%2e%2e" is an (unknown) API request, not the page "/".
      const rawPath = (req.url ?? '/').split('?')[0];
      if (isApi || url.pathname.startsWith('/api/')) {
        const denied = gate(req, url, false);
        if (denied) return refuseJson(res, denied, 'invalid_request', denied === 401 ? 'unauthorized: the session token is missing (?token=… or Authorization: Bearer …)' : 'forbidden: wrong session token');
        if (req.method !== 'POST') return refuseJson(res, 405, 'invalid_request', `${req.method} is not allowed: use POST /api/<request> with a JSON body`, { Allow: 'POST' });
        let reply;
        let refusal: ReturnType<typeof bodyRefusal> = null;
        let held = 0;
        try {
          const raw = (isApi ? rawPath : url.pathname).slice('/api/'.length);
          let method: string;
          try {
            method = decodeURIComponent(raw);
          } catch {
            throw new StudioError('invalid_request', `the request name in the URL is not valid percent-encoding: "${raw.slice(0, 100)}"`);
          }
          const body = await readBody(req, MAX_FRAME_BYTES, bodies);
          held = body.held;
          let params: unknown;
          try {
            params = body.text.trim() ? JSON.parse(body.text) : {};
          } catch {
            throw new StudioError('invalid_request', `${method}: the body is not JSON`);
          }
          reply = await service.handle(method, params);
        } catch (e) {
          refusal = bodyRefusal(e);
          reply = { ok: false as const, error: errorInfo(e) };
        }
        try {
          if (res.destroyed) return;
          const status = refusal?.status ?? (reply.ok ? 200 : HTTP_STATUS[reply.error.code]);
          res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...refusal?.headers });
          return res.end(JSON.stringify(reply));
        } finally {
          bodies.give(held);
        }
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed');
      const isIndex = url.pathname === '/' || url.pathname === '/index.html';
      const denied = gate(req, url, !isIndex);
      if (denied) return refuse(res, denied, denied === 401 ? 'unauthorized: open the URL that `mobilevit-studio serve` printed (it carries ?token=…)' : 'forbidden: wrong session token');
      if (isIndex) {
        const cookie = `${assetCookieName(port)}=${assetKey}; HttpOnly; SameSite=Strict; Path=/`;
        const index = await host.windowFile('/index.html', req.method);
        if (index.ok) return await sendResponse(res, index, { 'Set-Cookie': cookie });
        res.writeHead(503, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
        return res.end(NOT_BUILT);
      }
      const file = await host.windowFile(url.pathname, req.method);
      if (!file.ok) return refuse(res, 404, 'not found');
      await sendResponse(res, file);
    } catch (e) {
      log(`server: ${(e as Error).message}`);
      if (res.headersSent) res.destroy();
      else if ((req.url ?? '').startsWith('/api/')) refuseJson(res, 500, 'internal', 'internal error');
      else refuse(res, 500, 'internal error');
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  // Requests Node's parser refuses (bad syntax, oversized headers) are answered in JSON too.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) return socket.destroy();
    const [status, text] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
    const body = JSON.stringify({ ok: false, error: { code: 'invalid_request', message: `malformed HTTP request (${text.toLowerCase()})` } });
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });

  server.on('upgrade', (req, socket, head) => {
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    socket.on('error', () => {});
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return deny(400, 'Bad Request');
    }
    if (!hostAllowed(req.headers.host, port) || !originAllowed(req.headers.origin, port)) return deny(403, 'Forbidden');
    if (url.pathname !== '/api/ws') return deny(404, 'Not Found');
    const denied = gate(req, url, false);
    if (denied) return deny(denied, denied === 401 ? 'Unauthorized' : 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const send = (ws: WebSocket, frame: ResponseFrame | EventFrame) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  /** One WebSocket request frame: parsed, checked against the contract, handled, answered by its id. */
  const answerFrame = async (ws: WebSocket, data: RawData): Promise<void> => {
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
  };
  wss.on('connection', (ws) => {
    ws.on('message', async (data) => {
      const size = messageBytes(data);
      if (!bodies.take(size, size)) return send(ws, { type: 'response', id: frameIdFromHead(data), ok: false, error: new ServerBusy(bodies).toInfo() });
      try {
        await answerFrame(ws, data);
      } finally {
        bodies.give(size);
      }
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
    bodies,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await service.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
