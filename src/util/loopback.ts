// Who may talk to a server the studio starts on 127.0.0.1: the Host header names this server exactly (a DNS-
// rebinding page names its own host), and a token compares in constant time. Shared by the browser-mode server
// and the device page server.
import { timingSafeEqual } from 'node:crypto';

/** Host must be exactly 127.0.0.1:port or localhost:port. */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

export function tokenEquals(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
