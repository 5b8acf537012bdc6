// app://<host>/… serves built pages from disk, each host from its own folder with its own headers: app://studio/
// is the renderer (the Electron host's windowFile, electron/host.ts), app://device/ the compute device page
// (cross-origin isolated, in the hidden windows' own session: electron/device-window.ts). A custom standard scheme
// (rather than file://) gives each page a real origin, so the CSP's 'self' means only its files, and no other file
// on disk can be reached.
import { protocol, type Protocol } from 'electron';
import { fileResponse } from '../src/service/host.ts';
import { APP_SCHEME } from './security.ts';

/** What one host name serves: the response to a GET or HEAD of a path. */
export type Site = (pathname: string, method: string) => Promise<Response>;

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** A request for no known host gets a 404 that may do nothing at all. */
const NOWHERE = { 'Content-Security-Policy': "default-src 'none'", 'X-Content-Type-Options': 'nosniff' };

/** The files under `root`, each (and each 404) with `headers`. */
export const staticSite = (root: string, headers: Record<string, string>): Site => (pathname, method) => fileResponse(root, pathname, method, headers);

/** The response of the site a request's host names, or a 404 for a host that is not one of `sites`. */
export function siteResponse(sites: Readonly<Record<string, Site>>, requestUrl: string, method = 'GET'): Promise<Response> {
  const url = new URL(requestUrl);
  const site = Object.hasOwn(sites, url.host) ? sites[url.host] : undefined;
  return site ? site(url.pathname, method) : Promise.resolve(new Response('not found', { status: 404, headers: NOWHERE }));
}

/** Serves `sites` on the app scheme of one session's protocol (the default session's: `protocol`). */
export function serveSites(on: Protocol, sites: Readonly<Record<string, Site>>): void {
  on.handle(APP_SCHEME, (req) => siteResponse(sites, req.url, req.method));
}
