// Request bodies of the browser-mode server: each one capped (413), and all of them together held to a
// budget across connections and transports. One body may be 48 MB (a dropped image), and while it is parsed
// and handled it costs a few times that; eight at once took the server to 1.25 GB. A body takes its bytes
// from the budget before it is read (its declared Content-Length, or chunk by chunk), gives them back once
// its reply is sent, and one that does not fit is answered 503 at once without being kept.
// Small bodies (the UI's everyday requests) have a reserve of their own, so the studio keeps answering
// while large ones fill the budget.
import type { IncomingMessage } from 'node:http';
import type { RawData } from 'ws';
import { StudioError } from '../protocol/contract.ts';

const MB = 1024 * 1024;

/** Bodies up to this size count as small and may use the reserve. */
export const SMALL_BODY_BYTES = 64 * 1024;
/** What small bodies may hold beyond the budget, together. */
export const SMALL_BODY_RESERVE = 8 * MB;

function mb(bytes: number): string {
  return `${Math.round((bytes / MB) * 10) / 10} MB`;
}

/** The bytes of request bodies held at once. */
export class BodyBudget {
  private used = 0;
  private most = 0;

  constructor(readonly limit: number) {}

  /** Takes `bytes` for a body of `bodySize` bytes so far; false, taking nothing, when they do not fit. */
  take(bytes: number, bodySize: number): boolean {
    const room = this.limit + (bodySize <= SMALL_BODY_BYTES ? SMALL_BODY_RESERVE : 0);
    if (this.used + bytes > room) return false;
    this.used += bytes;
    this.most = Math.max(this.most, this.used);
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }

  /** Bytes held now. */
  get inUse(): number {
    return this.used;
  }

  /** The most bytes held at once since the server started. */
  get peak(): number {
    return this.most;
  }
}

/** A body over the limit: answered 413 once it has been read (and dropped), then the connection closes. */
export class BodyTooLarge extends StudioError {
  constructor(readonly limit: number) {
    super('invalid_request', `the request body is larger than the ${limit / MB} MB limit`);
  }
}

/** A body that does not fit in the budget now: answered 503 at once; the client may try again. */
export class ServerBusy extends StudioError {
  constructor(budget: BodyBudget) {
    super('failed', `the server is busy: other requests' bodies hold ${mb(budget.inUse)} of the ${mb(budget.limit)} it takes at once; try again in a moment`);
  }
}

/** The status and headers of a refusal by size or budget; null for any other error. */
export function bodyRefusal(e: unknown): { status: number; headers: Record<string, string> } | null {
  if (e instanceof BodyTooLarge) return { status: 413, headers: { Connection: 'close' } };
  if (e instanceof ServerBusy) return { status: 503, headers: { 'Retry-After': '1' } };
  return null;
}

export interface Body {
  text: string;
  /** Bytes taken from the budget: give them back once the reply is sent. */
  held: number;
}

/**
 * Reads a body of at most `limit` bytes within the budget. Bodies over the limit are still read to their end
 * (and dropped) so that the 413 reaches the client instead of a connection reset; past `drainLimit` bytes the
 * connection is cut. A body refused by the budget rejects at once; the server discards the rest of it.
 */
export function readBody(req: IncomingMessage, limit: number, budget: BodyBudget, drainLimit = 4 * limit): Promise<Body> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'] === undefined ? NaN : Number(req.headers['content-length']);
    if (declared > drainLimit) return reject(new BodyTooLarge(limit));
    let held = 0;
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      budget.give(held);
      held = 0;
      reject(e);
    };
    if (declared <= limit) {
      if (!budget.take(declared, declared)) return fail(new ServerBusy(budget));
      held = declared;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > drainLimit) return void req.destroy();
      if (settled) return; // refused: the rest is read and dropped
      if (size > limit) {
        chunks.length = 0;
        budget.give(held);
        held = 0;
        return;
      }
      // A body without Content-Length takes its bytes as they come.
      if (size > held) {
        if (!budget.take(size - held, size)) return fail(new ServerBusy(budget));
        held = size;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > limit) return fail(new BodyTooLarge(limit));
      if (settled) return;
      settled = true;
      resolve({ text: Buffer.concat(chunks).toString('utf8'), held });
    });
    req.on('error', fail); // a client gone mid-body
    // A connection cut past drainLimit ends with 'close' alone.
    req.on('close', () => fail(new Error('the connection closed before the request body was complete')));
  });
}

/** The size of a WebSocket message as ws delivers it. */
export function messageBytes(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
}

/**
 * The id of a request frame read from its first bytes, for refusing a frame without parsing all of it
 * (the studio's client writes `{"type":"request","id":N,…`); null when it is not there.
 */
export function frameIdFromHead(data: RawData): number | string | null {
  const first = Array.isArray(data) ? data[0] : Buffer.isBuffer(data) ? data : Buffer.from(data); // a view, not a copy
  const m = /^\s*\{\s*"type"\s*:\s*"request"\s*,\s*"id"\s*:\s*(?:(\d{1,15})|"([^"\\]{0,64})")/.exec(first.subarray(0, 256).toString('utf8'));
  if (!m) return null;
  return m[1] !== undefined ? Number(m[1]) : m[2];
}
