// The browser mode's guards. The server listens on 127.0.0.1 only, but any web page the user visits
// can still send requests to 127.0.0.1, so: every request must carry the session token, and the Host
// header must name this server (a DNS-rebinding page arrives with its own host name).
import { timingSafeEqual, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'studio_token';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Host must be exactly 127.0.0.1:port or localhost:port. */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** A WebSocket handshake from a page must come from this origin (non-browser clients send none). */
export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

export function tokenEquals(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface TokenSources {
  query: string | null;
  bearer: string | null;
  cookie: string | null;
}

export function tokenSources(req: IncomingMessage, url: URL): TokenSources {
  const auth = req.headers.authorization;
  const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : null;
  let cookie: string | null = null;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) cookie = v.join('=');
  }
  return { query: url.searchParams.get('token'), bearer, cookie };
}

/**
 * The page's Content-Security-Policy: scripts and styles only from this origin (chart.js and Svelte
 * set styles through the CSSOM, which style-src does not restrict), no eval, nothing framed, no forms,
 * no plugins.
 */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

export function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(port),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    // The page URL carries the token: never send it anywhere as a referrer.
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}
