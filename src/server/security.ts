// The browser mode's guards. The server listens on 127.0.0.1 only, but any web page the user visits
// can still send requests to 127.0.0.1, so: every request must carry the session token, and the Host
// header must name this server (a DNS-rebinding page arrives with its own host name).
import { randomBytes } from 'node:crypto';
import { tokenEquals } from '../util/loopback.ts';
import type { IncomingMessage } from 'node:http';

/**
 * The cookie that lets the page load its own scripts, styles and images. Cookies ignore ports, so every
 * other web server on 127.0.0.1 receives it too: its value is therefore NOT the session token but a
 * separate random secret (assetKey) that unlocks static files only — never the API or the WebSocket.
 * The port in its name keeps two studios on different ports from overwriting each other's cookie.
 */
export function assetCookieName(port: number): string {
  return `studio_assets_${port}`;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** A WebSocket handshake from a page must come from this origin (non-browser clients send none). */
export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

export interface TokenSources {
  /** The first non-empty `token` query parameter (an empty `?token=` counts as absent). */
  query: string | null;
  /** The credentials of an `Authorization: Bearer …` header (scheme matched case-insensitively). */
  bearer: string | null;
  /** The static-files cookie's value (not a session token). */
  cookie: string | null;
}

// RFC 9110 §11: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]; auth-scheme is a token and
// compared case-insensitively. RFC 6750 §2.1: the Bearer credentials are one b64token.
const AUTHORIZATION = /^[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:[ \t]+([^ \t].*?))?[ \t]*$/;

/** The credentials of a Bearer `Authorization` header; null when it is absent, empty or another scheme. */
export function parseBearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = AUTHORIZATION.exec(header);
  if (!m || m[1].toLowerCase() !== 'bearer' || !m[2]) return null;
  return m[2];
}

/** The value of one cookie in a Cookie header (RFC 6265 §5.4: "name=value" pairs separated by "; "). */
export function cookieValue(header: string | undefined, name: string): string | null {
  let found: string | null = null;
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name && found === null) found = part.slice(eq + 1).trim();
  }
  return found || null;
}

export function tokenSources(req: IncomingMessage, url: URL, port: number): TokenSources {
  const query = url.searchParams.getAll('token').find((v) => v !== '') ?? null;
  return { query, bearer: parseBearer(req.headers.authorization), cookie: cookieValue(req.headers.cookie, assetCookieName(port)) };
}

/**
 * The access decision: null when allowed, else 401 (no credentials) or 403 (wrong ones).
 * Every token presented (query and Bearer) must be the session token. The cookie counts only where
 * `assetKey` is given (static files) and only when no token was presented.
 */
export function checkAccess(sources: TokenSources, token: string, assetKey: string | null): 401 | 403 | null {
  const presented = [sources.query, sources.bearer].filter((v): v is string => v !== null);
  if (presented.length) return presented.every((v) => tokenEquals(v, token)) ? null : 403;
  if (assetKey !== null && sources.cookie !== null) return tokenEquals(sources.cookie, assetKey) ? null : 403;
  return 401;
}
