// app://<host>/… serves built pages from disk, each host from its own folder with its own headers: app://studio/
// is the renderer (CSP on every response), app://device/ the compute device page (cross-origin isolated, in the
// hidden windows' own session: electron/device-window.ts). A custom standard scheme (rather than file://) gives
// each page a real origin, so the CSP's 'self' means only its files, and no other file on disk can be reached.
import { readFile } from 'node:fs/promises';
import { protocol, type Protocol } from 'electron';
import { contentType, resolveStatic } from '../src/util/static-files.ts';
import { APP_SCHEME, CSP } from './security.ts';

/** What one host serves: the files under `root`, each with `headers`. */
export interface Site {
  root: string;
  headers: Readonly<Record<string, string>>;
}

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** A request for no known host gets a 404 that may do nothing at all. */
const NOWHERE = { 'Content-Security-Policy': "default-src 'none'", 'X-Content-Type-Options': 'nosniff' };

export const rendererSite = (root: string): Site => ({ root, headers: { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' } });

/** The file a request names under its host's root, or 404 (another host, a path outside the root, a missing file). */
export async function siteResponse(sites: Readonly<Record<string, Site>>, requestUrl: string, method = 'GET'): Promise<Response> {
  const url = new URL(requestUrl);
  const site = Object.hasOwn(sites, url.host) ? sites[url.host] : undefined;
  const headers = site?.headers ?? NOWHERE;
  const file = site && (method === 'GET' || method === 'HEAD') ? resolveStatic(site.root, url.pathname === '/' ? '/index.html' : url.pathname) : null;
  if (!file) return new Response('not found', { status: 404, headers });
  try {
    const body = await readFile(file);
    return new Response(method === 'HEAD' ? null : body, { status: 200, headers: { ...headers, 'Content-Type': contentType(file) } });
  } catch {
    return new Response('not found', { status: 404, headers });
  }
}

export const rendererResponse = (root: string, requestUrl: string): Promise<Response> => siteResponse({ studio: rendererSite(root) }, requestUrl);

/** Serves `sites` on the app scheme of one session's protocol (the default session's: `protocol`). */
export function serveSites(on: Protocol, sites: Readonly<Record<string, Site>>): void {
  on.handle(APP_SCHEME, (req) => siteResponse(sites, req.url, req.method));
}

export function serveRenderer(root: string): void {
  serveSites(protocol, { studio: rendererSite(root) });
}
