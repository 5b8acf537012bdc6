// Fetching one file from the Hugging Face Hub (or anything that answers like it) with node:http/https only:
// redirects, HTTP(S)_PROXY / NO_PROXY (a CONNECT tunnel for https), HF_TOKEN, progress, cancel, resume with
// Range after a dropped connection, a size cap, and the hub's sha256 checked before the file is published.
//
// What a hostile hub or workspace cannot do (test/hostile/hub.test.ts): get the token over another scheme, host
// or port, or after an https → http redirect; make a write follow a symbolic link (.part is opened O_NOFOLLOW);
// keep a pull alive with an endless redirect or error body (those bodies are destroyed, not read); turn a size
// cap into "connection dropped" retries; or have an unusable file published (`verify` runs before the rename).
//
// Node 20's fetch has no proxy support from the environment, and undici's EnvHttpProxyAgent is not one of this
// project's dependencies, so the requests are made here with the core modules.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, createReadStream, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** No zoo file comes near this; a server that sends more is refused. */
export const HARD_CAP_BYTES = 512 * 1024 * 1024;

/**
 * What went wrong, for the advice a caller gives: the Hub cannot be reached ('unreachable': no network, DNS,
 * refused, TLS), a proxy refused, the Hub refused access (401/403) or has no such file (404); or the file itself
 * was wrong ('limit', 'checksum', 'unusable'); or the answer made no sense ('server'); or the user cancelled.
 */
export type DownloadFailure = 'unreachable' | 'proxy' | 'refused' | 'not_found' | 'limit' | 'checksum' | 'unusable' | 'server' | 'cancelled' | 'dropped';

export class DownloadError extends Error {
  constructor(message: string, readonly failure: DownloadFailure = 'server') {
    super(message);
  }
}
export class ChecksumError extends DownloadError {
  constructor(message: string) {
    super(message, 'checksum');
  }
}

export interface DownloadProgress {
  received: number;
  /** Expected total, when the server said. */
  total: number | null;
  /** Bytes per second over the last few seconds. */
  bytesPerSec: number;
  /** Seconds left at that rate, when the total is known. */
  etaSec: number | null;
  /** Connections resumed so far. */
  resumes: number;
}

/** Time left as m:ss ('--:--' when unknown), as the CLI's bar and the window's label show it. */
export function formatTimeLeft(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const t = Math.round(seconds);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

export interface DownloadOptions {
  /** Defaults to $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Defaults to $HF_TOKEN; sent to the endpoint's own scheme, host and port only, never where a redirect leads. */
  token?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Refuse more bytes than this (default HARD_CAP_BYTES). */
  maxBytes?: number;
  /** How many times a dropped connection is resumed (default 5). */
  retries?: number;
  /** A connection silent for this long counts as dropped (default 30 s). */
  idleTimeoutMs?: number;
  /**
   * Checks the complete, checksummed partial file before it is published (e.g. that it is the model it should
   * be). When it throws, the partial file is deleted and the error is the download's.
   */
  verify?: (partPath: string, sha256: string) => void | Promise<void>;
  /**
   * A sha256 the file must have whatever the server says: one its publisher states, or the one recorded at its
   * first download (`by` says which, for the message).
   */
  expect?: { sha256: string; by: string };
}

export interface DownloadResult {
  path: string;
  sha256: string;
  size: number;
  /** X-Repo-Commit, when the hub sent it. */
  commit: string | null;
  /** How the hash was checked: the hub's X-Linked-Etag, its ETag, or not at all (no sha256 offered). */
  verifiedBy: 'x-linked-etag' | 'etag' | 'none';
  resumes: number;
}

export function endpointOf(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** `{endpoint}/{repo}/resolve/{revision}/{file}`, the revision URL-encoded (refs/pr/2 → refs%2Fpr%2F2). */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** The proxy for `url` from HTTPS_PROXY/HTTP_PROXY (either case), or null when none or NO_PROXY matches. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | null {
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const raw = url.protocol === 'https:' ? pick('HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy') : pick('HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy');
  if (!raw) return null;
  const noProxy = (pick('NO_PROXY', 'no_proxy') ?? '').split(/[\s,]+/).filter(Boolean);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const rule of noProxy) {
    if (rule === '*') return null;
    const [h, p] = rule.toLowerCase().replace(/^\[|\]$/g, '').split(/:(?=\d+$)/);
    if (p && p !== port) continue;
    const bare = h.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return null;
  }
  try {
    return new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new DownloadError(`the proxy setting ${JSON.stringify(raw).slice(0, 80)} is not a URL`);
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const ROUTE_CODES = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN']);
const TLS_CODES = /^(CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|ERR_TLS_CERT|ERR_SSL_|HOSTNAME_MISMATCH)/;

/**
 * A failure to connect, in words, as a DownloadError that is not retried (it would fail the same way at once);
 * null for the errors a retry may cure (a reset or dropped connection).
 */
function unreachable(e: unknown, target: URL, viaProxy: boolean): DownloadError | null {
  const code = String((e as NodeJS.ErrnoException)?.code ?? '');
  const who = viaProxy ? `the proxy ${target.host}` : target.hostname;
  const failure = viaProxy ? 'proxy' : 'unreachable';
  if (DNS_CODES.has(code)) return new DownloadError(`cannot reach ${who}: its name does not resolve (${code}: no network, or no DNS server answers)`, failure);
  if (code === 'ECONNREFUSED') return new DownloadError(`${who} refused the connection (ECONNREFUSED: nothing listens at ${target.host}, or a firewall)`, failure);
  if (ROUTE_CODES.has(code)) return new DownloadError(`cannot reach ${who}: no network route to it (${code})`, failure);
  if (TLS_CODES.test(code)) {
    return new DownloadError(`the TLS certificate of ${who} is not trusted (${code}): a proxy or firewall that intercepts https? NODE_EXTRA_CA_CERTS can name its certificate`, failure);
  }
  return null;
}

/** Where a redirect's Location leads: one clear error for a malformed address or an https → http downgrade. */
export function redirectTarget(from: URL, location: string, what: string): URL {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new DownloadError(`${what}: the server redirected to a malformed address ${JSON.stringify(location.slice(0, 80))}`, 'server');
  }
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    throw new DownloadError(`${what}: refused a redirect from https to plain http (${to.host}): the file would travel unencrypted`, 'server');
  }
  return to;
}

/** The token goes to the endpoint's own origin only (scheme, host and port), never where a redirect leads. */
export function sendsToken(url: URL, endpoint: URL): boolean {
  return url.origin === endpoint.origin;
}

/** Opens a partial file for writing without following a symbolic link in its place (ELOOP names the file). */
function openPart(path: string, append: boolean): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (append ? constants.O_APPEND : constants.O_TRUNC), 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new DownloadError(`${path} is a symbolic link: refused (a download never writes through a link); remove it`, 'unusable');
    throw e;
  }
}

/** Writes `data` to a fresh partial file at `path`, never through a link. */
export function writePart(path: string, data: Buffer): void {
  const fd = openPart(path, false);
  try {
    for (let w = 0; w < data.length;) w += writeSync(fd, data, w);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The size of the partial file at `path` (0 when there is none); anything but a regular file is refused. */
function partSize(path: string): number {
  let st;
  try { st = lstatSync(path); } catch { return 0; }
  if (!st.isFile()) throw new DownloadError(`${path} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: refused (a download never writes through a link); remove it`, 'unusable');
  return st.size;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** One GET, through the proxy the environment names for it. */
function get(url: URL, headers: Record<string, string>, env: NodeJS.ProcessEnv, signal: AbortSignal | undefined, idleMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const proxy = proxyFor(url, env);
    const https_ = url.protocol === 'https:';
    if (!https_ && url.protocol !== 'http:') { reject(new DownloadError(`unsupported URL scheme ${url.protocol}`)); return; }
    const proxyAuth = proxy && proxy.username ? { 'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` } : {};
    const onResponse = (res: http.IncomingMessage) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    const arm = (req: http.ClientRequest) => {
      req.setTimeout(idleMs, () => req.destroy(new DownloadError(`no data for ${Math.round(idleMs / 1000)} s`, 'unreachable')));
      req.on('error', (e) => reject(unreachable(e, proxy && !https_ ? proxy : url, !!proxy && !https_) ?? e));
      req.end();
    };
    const base = { headers: { ...headers, Host: url.host, 'User-Agent': 'mobilevit-studio' }, signal };
    if (!proxy) {
      arm((https_ ? https : http).request(url, { ...base, method: 'GET' }, onResponse));
    } else if (!https_) {
      // Plain HTTP through a proxy: the absolute URL as the request target.
      arm(http.request({ ...base, host: proxy.hostname, port: proxy.port || 80, method: 'GET', path: url.href, headers: { ...base.headers, ...proxyAuth } }, onResponse));
    } else {
      const connect = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${url.hostname}:${url.port || 443}`, headers: { Host: `${url.hostname}:${url.port || 443}`, ...proxyAuth }, signal });
      connect.on('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          const auth = res.statusCode === 407 ? ': it wants credentials, given as HTTPS_PROXY=http://user:password@host:port' : '';
          reject(new DownloadError(`the proxy ${proxy.host} refused the tunnel to ${url.host} (HTTP ${res.statusCode}${auth})`, 'proxy'));
          return;
        }
        arm(https.request(url, { ...base, method: 'GET', createConnection: () => tls.connect({ socket, servername: url.hostname }) }, onResponse));
      });
      connect.setTimeout(idleMs, () => connect.destroy(new DownloadError(`the proxy ${proxy.host} did not answer`, 'proxy')));
      connect.on('error', (e) => reject(unreachable(e, proxy, true) ?? e));
      connect.end();
    }
  });
}

/** The sha256 in an X-Linked-Etag / ETag value, when it is one (LFS files: 64 hex digits; git blobs: 40, not sha256). */
export function sha256FromEtag(v: string | undefined): string | null {
  if (!v) return null;
  const m = v.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return /^[0-9a-f]{64}$/.test(m) ? m : null;
}

function fmtBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

/** Hashes the partial file at `path` (opened without following a link); its size, 0 when there is none. */
async function hashPart(path: string, hash: Hash): Promise<number> {
  if (partSize(path) === 0) return 0;
  let n = 0;
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  for await (const chunk of createReadStream('', { fd })) { hash.update(chunk as Buffer); n += (chunk as Buffer).length; }
  return n;
}

/**
 * Publishes a verified partial file: renamed into place (a rename replaces a link at `dest`, never follows it),
 * then `dest.sha256` beside it, written last, so a file with its .sha256 is always a complete, checked one.
 */
export function publishPart(part: string, dest: string, sha256: string): void {
  renameSync(part, dest);
  try { const d = openSync(dirname(dest), 'r'); try { fsyncSync(d); } finally { closeSync(d); } } catch { /* not on every platform */ }
  writeFileAtomic(`${dest}.sha256`, `${sha256}  ${basename(dest)}\n`);
}

function isAbortError(e: unknown, signal?: AbortSignal): boolean {
  return !!signal?.aborted || (e instanceof Error && e.name === 'AbortError');
}

/**
 * Downloads `{endpoint}/{repo}/resolve/{revision}/{file}` to `dest`: streamed to `dest.part` (resumed from it
 * when a previous attempt left one), checked, then renamed into place with `dest.sha256` beside it.
 */
export async function downloadHubFile(repo: string, revision: string, file: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const endpoint = (opts.endpoint ?? endpointOf(opts.env ?? process.env)).replace(/\/+$/, '');
  return downloadFile(new URL(resolveUrl(endpoint, repo, revision, file)), `${repo}@${revision}/${file}`, dest, { ...opts, endpoint });
}

/**
 * Downloads `start` (a Hub address, or a publisher's file off the Hub) to `dest` as downloadHubFile does; the
 * token goes only to `opts.endpoint`'s origin (the Hub's), so never to a publisher's site. `what` names the
 * file in messages.
 */
export async function downloadFile(start: URL, what: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const env = opts.env ?? process.env;
  const endpoint = (opts.endpoint ?? endpointOf(env)).replace(/\/+$/, '');
  const token = opts.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  const cap = Math.min(opts.maxBytes ?? HARD_CAP_BYTES, HARD_CAP_BYTES);
  const retries = opts.retries ?? 5;
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  const { signal } = opts;
  const endpointUrl = new URL(endpoint);

  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let hash = createHash('sha256');
  let received = await hashPart(part, hash);
  let expectedSha: string | null = null;
  let verifiedBy: DownloadResult['verifiedBy'] = 'none';
  let total: number | null = null;
  let commit: string | null = null;
  let fileUrl: URL | null = null; // where the bytes come from after the redirects
  let resumes = 0;
  const samples: [number, number][] = [];
  let lastReport = 0;
  const report = (force = false) => {
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    samples.push([now, received]);
    while (samples.length > 2 && now - samples[0][0] > 3000) samples.shift();
    const [t0, b0] = samples[0];
    const rate = now > t0 ? ((received - b0) * 1000) / (now - t0) : 0;
    opts.onProgress?.({ received, total, bytesPerSec: rate, etaSec: total !== null && rate > 0 ? Math.max(0, total - received) / rate : null, resumes });
  };

  const resetPart = () => { try { unlinkSync(part); } catch { /* none */ } hash = createHash('sha256'); received = 0; };

  /** Follows redirects from `url`; records the hub's headers on the way. */
  const open = async (url: URL, range: number): Promise<Response> => {
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
      if (token && sendsToken(url, endpointUrl)) headers.Authorization = `Bearer ${token}`;
      if (range > 0) headers.Range = `bytes=${range}-`;
      const res = await get(url, headers, env, signal, idleMs);
      const linked = sha256FromEtag(header(res.headers, 'x-linked-etag'));
      if (linked && !expectedSha) { expectedSha = linked; verifiedBy = 'x-linked-etag'; }
      const linkedSize = Number(header(res.headers, 'x-linked-size'));
      if (Number.isSafeInteger(linkedSize) && linkedSize >= 0 && total === null) total = linkedSize;
      commit ??= header(res.headers, 'x-repo-commit') ?? null;
      if (res.status === 200 || res.status === 206) { fileUrl = url; return res; }
      // Any other answer's body is destroyed, not read: an endless one must not keep the pull (and a socket) alive.
      res.body.destroy();
      if (res.status >= 300 && res.status < 400 && res.headers.location !== undefined) {
        url = redirectTarget(url, res.headers.location, what);
        continue;
      }
      if (res.status === 401 || res.status === 403) throw new DownloadError(`${what}: ${endpointUrl.host} refused access (HTTP ${res.status})${token ? ': HF_TOKEN is not accepted for it' : '; a gated or private repository needs HF_TOKEN'}`, 'refused');
      if (res.status === 404) throw new DownloadError(`${what}: not found on ${endpoint} (HTTP 404: no such repository, revision or file)`, 'not_found');
      if (res.status === 407) throw new DownloadError(`${what}: the proxy refused the request (HTTP 407: it wants credentials, given as HTTP_PROXY=http://user:password@host:port)`, 'proxy');
      if (res.status === 416 && range > 0) { resetPart(); return open(start, 0); }
      if (res.status === 502 || res.status === 503 || res.status === 504) {
        // Through a plain-HTTP proxy these are the proxy's own answer: it could not reach the host.
        const proxy = proxyFor(url, env);
        throw proxy
          ? new DownloadError(`${what}: the proxy ${proxy.host} could not reach ${url.host} (HTTP ${res.status})`, 'proxy')
          : new DownloadError(`${what}: ${url.host} is unavailable (HTTP ${res.status}: down or overloaded; try again later)`, 'unreachable');
      }
      throw new DownloadError(`${what}: the server answered HTTP ${res.status}`);
    }
    throw new DownloadError(`${what}: too many redirects`, 'server');
  };

  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new DownloadError(`download of ${what} cancelled`, 'cancelled');
    let res: Response;
    try {
      // A resume goes straight to the file URL (the CDN); the first request, and any after a failed resume, to the hub.
      res = await open(attempt > 0 && fileUrl ? fileUrl : start, received);
    } catch (e) {
      if (isAbortError(e, signal)) throw new DownloadError(`download of ${what} cancelled`, 'cancelled');
      if (e instanceof DownloadError) throw e.message.startsWith(what) ? e : new DownloadError(`${what}: ${e.message}`, e.failure);
      if (attempt >= retries) throw new DownloadError(`${what}: ${(e as Error).message}`, 'dropped');
      fileUrl = null;
      resumes++;
      continue;
    }
    if (res.status === 200 && received > 0) resetPart(); // the server ignored Range: start over
    if (res.status === 200 && total === null) {
      const len = Number(header(res.headers, 'content-length'));
      if (Number.isSafeInteger(len) && len >= 0) total = len;
    }
    if (!expectedSha) {
      const etag = sha256FromEtag(header(res.headers, 'etag'));
      if (etag) { expectedSha = etag; verifiedBy = 'etag'; }
    }
    if (total !== null && total > cap) { res.body.destroy(); resetPart(); throw new DownloadError(`${what} is ${fmtBytes(total)}, over the ${fmtBytes(cap)} limit`, 'limit'); }

    let fd: number;
    try {
      fd = openPart(part, received > 0);
    } catch (e) {
      res.body.destroy();
      throw e;
    }
    let dropped: Error | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        let refused = false;
        res.body.on('data', (chunk: Buffer) => {
          if (refused) return;
          if (received + chunk.length > cap || (total !== null && received + chunk.length > total)) {
            // Rejected before the body is destroyed, so the refusal (not a "dropped connection") is the outcome.
            refused = true;
            reject(new DownloadError(total !== null && total < cap
              ? `${what}: the server sent more than the ${fmtBytes(total)} it announced: over the limit, refused`
              : `${what}: the server sent more than ${fmtBytes(cap)}: over the limit, refused`, 'limit'));
            res.body.destroy();
            return;
          }
          writeSync(fd, chunk);
          hash.update(chunk);
          received += chunk.length;
          report();
        });
        res.body.on('end', () => resolve());
        res.body.on('aborted', () => reject(new Error('connection dropped')));
        res.body.on('error', reject);
        res.body.on('close', () => { if (!res.body.complete) reject(new Error('connection dropped')); });
      });
      fsyncSync(fd);
    } catch (e) {
      // Only a refused size is fatal here; anything else that ends the body (a reset, the idle timeout) is a drop to resume.
      if (e instanceof DownloadError && e.failure === 'limit') { closeSync(fd); resetPart(); throw e; }
      dropped = e as Error;
    } finally {
      try { closeSync(fd); } catch { /* closed above */ }
    }
    if (signal?.aborted) throw new DownloadError(`download of ${what} cancelled (${fmtBytes(received)} kept in ${basename(part)} for a later resume)`, 'cancelled');
    // A body that ended cleanly but short of the announced size is a size error below, not a drop to retry.
    if (dropped) {
      if (attempt >= retries) throw new DownloadError(`${what}: the connection dropped ${attempt + 1} times; ${fmtBytes(received)} of ${total !== null ? fmtBytes(total) : '?'} kept for a later resume`, 'dropped');
      resumes++;
      report(true);
      continue;
    }
    break;
  }
  report(true);

  const sha256 = hash.digest('hex');
  if (expectedSha && sha256 !== expectedSha) {
    resetPart();
    throw new ChecksumError(`${what}: checksum failed (sha256 ${sha256}, the hub says ${expectedSha}); the partial file was deleted`);
  }
  if (opts.expect && sha256 !== opts.expect.sha256) {
    resetPart();
    throw new ChecksumError(`${what}: checksum failed (sha256 ${sha256}, ${opts.expect.by} ${opts.expect.sha256}); the partial file was deleted`);
  }
  if (total !== null && received !== total) {
    resetPart();
    throw new ChecksumError(`${what}: size check failed (${received} bytes, the hub says ${total}); the partial file was deleted`);
  }
  if (opts.verify) {
    try {
      await opts.verify(part, sha256);
    } catch (e) {
      resetPart();
      throw e;
    }
  }
  publishPart(part, dest, sha256);
  return { path: dest, sha256, size: statSync(dest).size, commit, verifiedBy, resumes };
}

/** The sha256 recorded beside a cached file, when both are there as regular files (a link is not a cached file). */
export function cachedSha256(path: string): string | null {
  try {
    const sum = lstatSync(`${path}.sha256`);
    if (!lstatSync(path).isFile() || !sum.isFile() || sum.size > 4096) return null;
    const m = readFileSync(`${path}.sha256`, 'utf8').match(/^([0-9a-f]{64})\b/);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}
