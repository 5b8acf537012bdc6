// The one seam between the studio and the shell it runs in. Two hosts implement it: the desktop app
// (electron/host.ts: a utilityProcess engine whose page devices are hidden windows, native dialogs, the window's
// files on the app:// scheme) and the browser mode (src/server/host.ts: a forked engine that launches headless
// Chromium for page devices, no dialogs, the files over HTTP). Everything else (the service, the contract, the
// engine) is the same code in both; test/service/host.test.ts runs one set of checks against each host.
import { readFile, stat } from 'node:fs/promises';
import type { AppInfo } from '../protocol/contract.ts';
import { cacheControl, contentType, resolveStatic } from '../util/static-files.ts';
import type { EngineProcess } from './engine-process.ts';

export interface Dialogs {
  openFolder(opts: { title?: string }): Promise<string | null>;
  openFile(opts: { title?: string; filters?: { name: string; extensions: string[] }[] }): Promise<string | null>;
}

export interface StudioHost {
  readonly mode: Exclude<AppInfo['mode'], 'cli'>;
  /** The shell's own versions, shown in app.info. */
  readonly versions: { electron?: string; chrome?: string };
  /** Native open dialogs; null where the host has none (the window asks for a typed path instead). */
  readonly dialogs: Dialogs | null;
  /**
   * Starts one engine process. Its page devices (webgpu, webgl, wasm-threads) open where this host keeps them:
   * hidden windows that Electron's main process opens for it, or a headless Chromium the engine launches itself.
   */
  spawnEngine(): EngineProcess;
  /** The window's security policy: the headers every file of the window is served with, its CSP first. */
  windowHeaders(): Record<string, string>;
  /** One file of the built window for a GET or HEAD of `pathname`, with windowHeaders(); 404 outside its folder. */
  windowFile(pathname: string, method: string): Promise<Response>;
}

/**
 * The window's Content-Security-Policy in both hosts: scripts, styles and fonts from the page's own origin only,
 * no eval, nothing framed, no forms, no plugins (chart.js and Svelte set styles through the CSSOM, which style-src
 * does not restrict). They differ only in what the page may connect to (`connect`: the browser mode's WebSocket;
 * nothing in Electron, whose page talks through its preload).
 */
export function windowCsp(connect: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/**
 * A file under `root` as a response, for a host's windowFile: `/` is index.html; a path that leaves root, a
 * missing file, or a method other than GET and HEAD is a 404 that carries `headers` too.
 */
export async function fileResponse(root: string, pathname: string, method: string, headers: Record<string, string>): Promise<Response> {
  const notFound = () => new Response('not found', { status: 404, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' } });
  const file = method === 'GET' || method === 'HEAD' ? resolveStatic(root, pathname === '/' ? '/index.html' : pathname) : null;
  // A plain file only: a read of a FIFO would wait for a writer forever.
  if (!file || !(await stat(file).catch(() => null))?.isFile()) return notFound();
  const body = await readFile(file).catch(() => null);
  if (!body) return notFound(); // removed between the stat and the read
  return new Response(method === 'HEAD' ? null : body, {
    status: 200,
    headers: {
      'Content-Type': contentType(file),
      'Content-Length': String(body.length),
      'Cache-Control': cacheControl(file),
      ...headers,
    },
  });
}
