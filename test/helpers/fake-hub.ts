// A local HTTP server that answers like the Hugging Face Hub: `/{repo}/resolve/{revision}/{file}` is a 302 to
// a "CDN" URL on another host name (localhost vs 127.0.0.1) with X-Linked-Etag / X-Linked-Size / X-Repo-Commit;
// the CDN honours Range. Per file it can corrupt the body, drop the connection mid-file, or trickle slowly.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HubFile {
  body: Buffer;
  /** 'corrupt': one byte flipped (same length); 'drop': the first N CDN responses stop halfway; 'slow': 64 kB per 50 ms. */
  mode?: 'ok' | 'corrupt' | 'drop' | 'slow';
  drops?: number;
  /** Send no X-Linked-Etag (an ETag with the sha256 instead). */
  etagOnly?: boolean;
}

export interface HubRequest {
  method: string;
  url: string;
  host: string;
  authorization?: string;
  range?: string;
}

export class FakeHub {
  readonly requests: HubRequest[] = [];
  private readonly files = new Map<string, HubFile>(); // key: repo@revision/file
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  port = 0;

  /** The endpoint to use as HF_ENDPOINT. */
  get endpoint(): string { return `http://127.0.0.1:${this.port}`; }

  add(repo: string, revision: string, file: string, f: HubFile): this {
    this.files.set(`${repo}@${revision}/${file}`, { drops: 1, ...f });
    return this;
  }

  /** A file off the Hub, as a publisher's plain web server has it: `{endpoint}/cdn/{path}`, with no checksum header. */
  publish(path: string, f: HubFile): this {
    this.files.set(path, { drops: 1, ...f });
    return this;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    await new Promise<void>((r) => this.server.listen(0, r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    this.requests.push({ method: req.method ?? '', url, host: req.headers.host ?? '', authorization: req.headers.authorization, range: req.headers.range });
    const resolve = url.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
    if (resolve) {
      const [, repo, rev, file] = resolve;
      const key = `${repo}@${decodeURIComponent(rev)}/${decodeURIComponent(file)}`;
      const f = this.files.get(key);
      if (!f) { res.writeHead(404, { 'X-Error-Code': 'RepoNotFound' }).end('Repository not found'); return; }
      const sha = createHash('sha256').update(f.body).digest('hex');
      res.writeHead(302, {
        Location: `http://localhost:${this.port}/cdn/${encodeURIComponent(key)}`,
        ...(f.etagOnly ? {} : { 'X-Linked-Etag': `"${sha}"`, 'X-Linked-Size': String(f.body.length) }),
        'X-Repo-Commit': '26e21ac0123456789abcdef0123456789abcdef0',
        ETag: '"0123456789abcdef0123456789abcdef01234567"', // a git blob id: not a sha256
      }).end();
      return;
    }
    const cdn = url.match(/^\/cdn\/(.+)$/);
    const f = cdn && this.files.get(decodeURIComponent(cdn[1]));
    if (!f) { res.writeHead(404).end('no such object'); return; }
    let body = f.body;
    if (f.mode === 'corrupt') { body = Buffer.from(body); body[body.length >> 1] ^= 0xff; }
    const sha = createHash('sha256').update(f.body).digest('hex');
    const etag = f.etagOnly ? { ETag: `"${sha}"` } : {};
    let start = 0;
    const m = req.headers.range?.match(/^bytes=(\d+)-$/);
    if (m) start = Number(m[1]);
    if (start >= body.length && start > 0) { res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end(); return; }
    const slice = body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'Content-Length': String(slice.length), 'Accept-Ranges': 'bytes', ...etag,
      ...(m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (f.mode === 'drop' && (f.drops ?? 0) > 0) {
      f.drops!--;
      res.write(slice.subarray(0, slice.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (f.mode === 'slow') {
      let at = 0;
      const tick = () => {
        if (res.destroyed) return;
        const chunk = slice.subarray(at, at + 65536);
        at += chunk.length;
        if (at >= slice.length) { res.end(chunk); return; }
        res.write(chunk);
        setTimeout(tick, 50);
      };
      tick();
      return;
    }
    res.end(slice);
  }
}

/** A forward proxy for plain-HTTP absolute-form requests; counts what passes through. */
export class FakeProxy {
  readonly seen: string[] = [];
  private server!: http.Server;
  port = 0;
  get url(): string { return `http://127.0.0.1:${this.port}`; }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.seen.push(req.url ?? '');
      let target: URL;
      try { target = new URL(req.url ?? ''); } catch { res.writeHead(400).end(); return; }
      const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
