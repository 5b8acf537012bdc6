// A hostile model hub and a hostile workspace (issue 22 items 3-7): every server here is on 127.0.0.1 and
// answers as a hub that wants the token, a write outside the workspace, a pull that never ends, a size cap
// turned into retries, or a bad file in the cache would answer.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { DownloadError, downloadHubFile, redirectTarget, sendsToken } from '../../src/zoo/download.ts';
import { isCached, pullZoo, zooPaths } from '../../src/zoo/store.ts';
import { findZooEntry } from '../../src/zoo/zoo.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture, rawSafetensors } from '../helpers/fixtures.ts';

const WEIGHTS = readFileSync(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const XXS = 'timm/mobilevit_xxs.cvnets_in1k';
const FILE = 'model.safetensors';

/** A server whose every answer is the test's handler; it records requests and when each connection closed. */
class Scripted {
  readonly requests: { url: string; authorization?: string }[] = [];
  readonly closed: Promise<void>[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: http.Server | https.Server;
  port = 0;
  constructor(private handler: http.RequestListener, private readonly tls?: { key: string; cert: string }) {}
  get url(): string { return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`; }

  async start(): Promise<this> {
    const listener: http.RequestListener = (req, res) => {
      this.requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
      this.handler(req, res);
    };
    this.server = this.tls ? https.createServer(this.tls, listener) : http.createServer(listener);
    this.server.on(this.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      this.closed.push(new Promise((r) => s.on('close', () => { this.sockets.delete(s); r(); })));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Writes chunks until the client goes away: an endless body. */
function endless(res: http.ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const pump = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump); };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

/** Serves WEIGHTS (or `body`) at /cdn/file with a Content-Length. */
function serveFile(res: http.ServerResponse, body = WEIGHTS): void {
  res.writeHead(200, { 'Content-Length': String(body.length) }).end(body);
}

let ws: string;
let outside: string;
const servers: Scripted[] = [];
const scripted = async (handler: http.RequestListener, tls?: { key: string; cert: string }) => {
  const s = await new Scripted(handler, tls).start();
  servers.push(s);
  return s;
};
beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'mvit-hub-ws-'));
  outside = mkdtempSync(join(tmpdir(), 'mvit-hub-outside-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  rmSync(ws, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('the token (item 3)', () => {
  it('goes to the endpoint\'s own scheme, host and port only', () => {
    const endpoint = new URL('https://huggingface.co');
    expect(sendsToken(new URL('https://huggingface.co/a/resolve/main/f'), endpoint)).toBe(true);
    expect(sendsToken(new URL('https://huggingface.co:443/x'), endpoint)).toBe(true);
    expect(sendsToken(new URL('http://huggingface.co/x'), endpoint)).toBe(false);
    expect(sendsToken(new URL('https://huggingface.co:8443/x'), endpoint)).toBe(false);
    expect(sendsToken(new URL('https://cdn-lfs.huggingface.co/x'), endpoint)).toBe(false);
  });

  it('a redirect to the same host on another port gets no token', async () => {
    const other = await scripted((_req, res) => serveFile(res));
    const hub = await scripted((_req, res) => { res.writeHead(302, { Location: `${other.url}/cdn/f` }).end(); });
    await downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url }, token: 'hf_secret' });
    expect(hub.requests[0].authorization).toBe('Bearer hf_secret');
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0].authorization).toBeUndefined();
  });

  it('an https → http redirect is refused (pure check): the token and the file would travel in clear text', () => {
    expect(() => redirectTarget(new URL('https://hub.example/x'), 'http://hub.example/cdn/f', 'x')).toThrow(/refused a redirect from https to plain http/);
    expect(redirectTarget(new URL('http://127.0.0.1:1/x'), '/cdn/f', 'x').href).toBe('http://127.0.0.1:1/cdn/f');
    expect(redirectTarget(new URL('https://hub.example/x'), 'https://cdn.example/f', 'x').host).toBe('cdn.example');
  });

  // A real https hub needs a certificate: made with the system's openssl, trusted for this process's https agent.
  let cert: { key: string; cert: string } | null = null;
  try {
    const dir = mkdtempSync(join(tmpdir(), 'mvit-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    cert = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
    rmSync(dir, { recursive: true, force: true });
  } catch { /* no openssl: the pure check above still runs */ }

  it.skipIf(!cert)('an https hub that redirects to http: refused before any request goes there', async () => {
    const plain = await scripted((_req, res) => serveFile(res));
    const hub = await scripted((_req, res) => { res.writeHead(302, { Location: `${plain.url}/cdn/f` }).end(); }, cert!);
    const saved = https.globalAgent.options.ca;
    https.globalAgent.options.ca = cert!.cert;
    try {
      await expect(downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url }, token: 'hf_secret' }))
        .rejects.toThrow(/refused a redirect from https to plain http/);
    } finally {
      https.globalAgent.options.ca = saved;
    }
    expect(hub.requests).toHaveLength(1);
    expect(plain.requests).toEqual([]);
    expect(existsSync(join(ws, 'f'))).toBe(false);
  });
});

describe('links in the workspace (item 4)', () => {
  it('a symlinked .part is refused, and the file it points at is untouched', async () => {
    const hub = await scripted((req, res) => (req.url!.startsWith('/cdn') ? serveFile(res) : res.writeHead(302, { Location: '/cdn/f' }).end()));
    const victim = join(outside, 'victim.txt');
    writeFileSync(victim, 'precious');
    const dest = join(ws, 'model.safetensors');
    symlinkSync(victim, `${dest}.part`);
    await expect(downloadHubFile(XXS, 'main', FILE, dest, { env: { HF_ENDPOINT: hub.url } })).rejects.toThrow(/\.part is a symbolic link: refused/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(dest)).toBe(false);
  });

  it('a final file that is a link is replaced by the download, not written through', async () => {
    const hub = await scripted((req, res) => (req.url!.startsWith('/cdn') ? serveFile(res) : res.writeHead(302, { Location: '/cdn/f' }).end()));
    const victim = join(outside, 'victim.txt');
    writeFileSync(victim, 'precious');
    const dest = join(ws, 'model.safetensors');
    symlinkSync(victim, dest);
    await downloadHubFile(XXS, 'main', FILE, dest, { env: { HF_ENDPOINT: hub.url } });
    expect(lstatSync(dest).isFile()).toBe(true);
    expect(readFileSync(dest).equals(WEIGHTS)).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('a cache folder that links out of the workspace is refused; one that links inside it is used', async () => {
    const hub = await new FakeHub().start();
    try {
      hub.add(XXS, 'main', FILE, { body: WEIGHTS });
      symlinkSync(outside, join(ws, 'models'));
      await expect(pullZoo('xxs', ws, { env: { HF_ENDPOINT: hub.endpoint } })).rejects.toThrow(/models is a link to .*outside the workspace/);
      expect(readdirSync(outside)).toEqual([]);
      expect(hub.requests).toEqual([]);

      rmSync(join(ws, 'models'));
      mkdirSync(join(ws, 'elsewhere'));
      symlinkSync(join(ws, 'elsewhere'), join(ws, 'models'));
      const r = await pullZoo('xxs', ws, { env: { HF_ENDPOINT: hub.endpoint } });
      expect(r.downloaded).toBe(true);
      expect(existsSync(join(ws, 'elsewhere', 'timm'))).toBe(true);
    } finally {
      await hub.stop();
    }
  });
});

describe('bodies that never end (item 5)', () => {
  it('a 302 with an endless body: the pull completes and that connection is closed', async () => {
    const hub = await scripted((req, res) => {
      if (req.url!.startsWith('/cdn')) { serveFile(res); return; }
      res.writeHead(302, { Location: '/cdn/f', 'X-Linked-Etag': `"${sha(WEIGHTS)}"`, 'X-Linked-Size': String(WEIGHTS.length) });
      endless(res);
    });
    const r = await downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url } });
    expect(r.sha256).toBe(sha(WEIGHTS));
    // Drained instead of closed, the first connection would read the endless body for as long as the server ran.
    await hub.closed[0];
  });

  it('a 404 with an endless body: one clear error at once, and the connection is closed', async () => {
    const hub = await scripted((_req, res) => { res.writeHead(404); endless(res); });
    await expect(downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url } })).rejects.toThrow(/not found .*404/);
    await hub.closed[0];
  });
});

describe('size caps and malformed answers (item 6)', () => {
  const cdnRequests = (s: Scripted) => s.requests.filter((q) => q.url.startsWith('/cdn')).length;

  it('an endless 200 body is "over the limit": not retried, and no .part is left', async () => {
    const hub = await scripted((req, res) => {
      if (!req.url!.startsWith('/cdn')) { res.writeHead(302, { Location: '/cdn/f' }).end(); return; }
      res.writeHead(200);
      endless(res);
    });
    const dest = join(ws, 'f');
    const err = await downloadHubFile(XXS, 'main', FILE, dest, { env: { HF_ENDPOINT: hub.url }, maxBytes: 2_000_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toMatch(/more than 2\.0 MB: over the limit, refused/);
    expect(err.failure).toBe('limit');
    expect(cdnRequests(hub)).toBe(1);
    expect(readdirSync(ws)).toEqual([]);
  });

  it('an X-Linked-Size that understates the file is "over the limit", not a dropped connection', async () => {
    const hub = await scripted((req, res) => {
      if (req.url!.startsWith('/cdn')) { serveFile(res); return; }
      res.writeHead(302, { Location: '/cdn/f', 'X-Linked-Size': '100000' }).end();
    });
    await expect(downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url } }))
      .rejects.toThrow(/more than the 100\.0 kB it announced: over the limit/);
    expect(cdnRequests(hub)).toBe(1);
    expect(readdirSync(ws)).toEqual([]);
  });

  it('an X-Linked-Size that overstates it: a size error after one complete body, not six resumes', async () => {
    const hub = await scripted((req, res) => {
      if (req.url!.startsWith('/cdn')) { serveFile(res); return; }
      res.writeHead(302, { Location: '/cdn/f', 'X-Linked-Size': String(WEIGHTS.length + 1000) }).end();
    });
    await expect(downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url } })).rejects.toThrow(/size check failed/);
    expect(cdnRequests(hub)).toBe(1);
    expect(readdirSync(ws)).toEqual([]);
  });

  it('a body that stalls mid-file is a drop to resume (the partial file kept), not a refusal', async () => {
    const hub = await scripted((req, res) => {
      if (!req.url!.startsWith('/cdn')) { res.writeHead(302, { Location: '/cdn/f', 'X-Linked-Etag': `"${sha(WEIGHTS)}"` }).end(); return; }
      const from = Number(req.headers.range?.match(/^bytes=(\d+)-$/)?.[1] ?? 0);
      if (from === 0) { res.writeHead(200, { 'Content-Length': String(WEIGHTS.length) }).write(WEIGHTS.subarray(0, 1 << 20)); return; } // then silence
      res.writeHead(206, { 'Content-Length': String(WEIGHTS.length - from), 'Content-Range': `bytes ${from}-${WEIGHTS.length - 1}/${WEIGHTS.length}` }).end(WEIGHTS.subarray(from));
    });
    const r = await downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url }, idleTimeoutMs: 300 });
    expect(r).toMatchObject({ sha256: sha(WEIGHTS), resumes: 1 });
    expect(cdnRequests(hub)).toBe(2);
  });

  it('a malformed Location is one clear error, asked once', async () => {
    const hub = await scripted((_req, res) => { res.writeHead(302, { Location: 'http://[oops/cdn' }).end(); });
    await expect(downloadHubFile(XXS, 'main', FILE, join(ws, 'f'), { env: { HF_ENDPOINT: hub.url } }))
      .rejects.toThrow(/redirected to a malformed address "http:\/\/\[oops\/cdn"/);
    expect(hub.requests).toHaveLength(1);
  });
});

describe('nothing unusable is cached (item 7)', () => {
  let hub: FakeHub;
  beforeAll(async () => { hub = await new FakeHub().start(); });
  afterAll(async () => { await hub.stop(); });
  beforeEach(() => { hub.requests.length = 0; });
  const env = () => ({ HF_ENDPOINT: hub.endpoint });
  const cacheFiles = (name: string) => {
    const dir = zooPaths(findZooEntry(name)!, ws).dir;
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  it('a truncated file whose checksum matches (the hub\'s own file is bad): refused, nothing kept, asked again next time', async () => {
    hub.add(XXS, 'main', FILE, { body: WEIGHTS.subarray(0, WEIGHTS.length >> 1) });
    await expect(pullZoo('xxs', ws, { env: env() })).rejects.toThrow(/file truncated\?.*nothing was cached/);
    expect(cacheFiles('xxs')).toEqual([]);
    const asked = hub.requests.length;
    await expect(pullZoo('xxs', ws, { env: env() })).rejects.toThrow(/nothing was cached/);
    expect(hub.requests.length).toBeGreaterThan(asked);
  });

  it('another architecture\'s file: refused by its keys and shapes before it is published', async () => {
    hub.add('timm/mobilevit_s.cvnets_in1k', 'main', FILE, { body: WEIGHTS });
    await expect(pullZoo('mobilevit_s', ws, { env: env() })).rejects.toThrow(/does not fit mobilevit_s.*looks like a mobilevit_xxs checkpoint.*not a mobilevit_s checkpoint; nothing was cached/);
    expect(cacheFiles('mobilevit_s')).toEqual([]);
    expect(isCached(findZooEntry('mobilevit_s')!, ws)).toBe(false);
  });

  it('one huge U8 tensor, or too many values: refused on the header, before anything is decoded', async () => {
    const u8 = rawSafetensors({ 'stem.conv.weight': { dtype: 'U8', shape: [20_000_000], data_offsets: [0, 20_000_000] } }, 20_000_000);
    hub.add('apple/mobilevit-xx-small', 'refs/pr/2', FILE, { body: u8 });
    await expect(pullZoo('apple_mobilevit_xxs', ws, { env: env() })).rejects.toThrow(/holds a U8 tensor where apple_mobilevit_xxs has floating-point weights/);
    const f16 = rawSafetensors({ 'stem.conv.weight': { dtype: 'F16', shape: [10_000_000], data_offsets: [0, 20_000_000] } }, 20_000_000);
    hub.add('apple/mobilevit-xx-small', 'refs/pr/2', FILE, { body: f16 });
    await expect(pullZoo('apple_mobilevit_xxs', ws, { env: env() })).rejects.toThrow(/holds 10,000,000 values, more than the .* a apple_mobilevit_xxs checkpoint can have/);
    expect(cacheFiles('apple_mobilevit_xxs')).toEqual([]);
  });

  it('a cached copy that no longer opens is pulled again instead of failing for ever', async () => {
    hub.add(XXS, 'main', FILE, { body: WEIGHTS });
    const first = await pullZoo('xxs', ws, { env: env() });
    writeFileSync(first.weights, Buffer.from('not a safetensors file at all'));
    const asked = hub.requests.length;
    const again = await pullZoo('xxs', ws, { env: env() });
    expect(again.downloaded).toBe(true);
    expect(again.notes.join(' ')).toMatch(/cached copy of mobilevit_xxs could not be used .*pulled again/);
    expect(hub.requests.length).toBeGreaterThan(asked);
    expect(readSafetensors(again.weights).metadata.source_sha256).toBe(sha(WEIGHTS));
  });

  it('a download with its .sha256 but no studio copy (an older studio\'s failed conversion) is pulled again', async () => {
    hub.add(XXS, 'main', FILE, { body: WEIGHTS });
    const p = zooPaths(findZooEntry('xxs')!, ws);
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(p.hubFile, WEIGHTS.subarray(0, 1000));
    writeFileSync(`${p.hubFile}.sha256`, `${sha(WEIGHTS.subarray(0, 1000))}  ${FILE}\n`);
    const r = await pullZoo('xxs', ws, { env: env() });
    expect(r.downloaded).toBe(true);
    expect(readFileSync(p.hubFile).equals(WEIGHTS)).toBe(true);
  });
});
