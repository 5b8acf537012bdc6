// app://studio/… serves the built renderer from disk with the CSP header on every response. A custom
// standard scheme (rather than file://) gives the page a real origin, so the CSP's 'self' means only
// these files, and no other file on disk can be reached from the page.
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { contentType, resolveStatic } from '../src/util/static-files.ts';
import { APP_SCHEME, CSP } from './security.ts';

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export async function rendererResponse(root: string, requestUrl: string): Promise<Response> {
  const url = new URL(requestUrl);
  const headers = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' };
  const file = url.host === 'studio' ? resolveStatic(root, url.pathname === '/' ? '/index.html' : url.pathname) : null;
  if (!file) return new Response('not found', { status: 404, headers });
  try {
    return new Response(await readFile(file), { status: 200, headers: { ...headers, 'Content-Type': contentType(file) } });
  } catch {
    return new Response('not found', { status: 404, headers });
  }
}

export function serveRenderer(root: string): void {
  protocol.handle(APP_SCHEME, (req) => rendererResponse(root, req.url));
}
