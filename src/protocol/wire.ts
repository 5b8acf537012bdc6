// The frames that carry the contract over a byte stream (the browser mode's WebSocket, HTTP bodies):
// a request with an id, a response with the same id, and events. Electron IPC does not need them:
// ipcRenderer.invoke pairs requests and replies itself.
import { z } from 'zod';
import { ErrorInfo } from './contract.ts';

export const RequestFrame = z.object({
  type: z.literal('request'),
  id: z.union([z.number().int().nonnegative(), z.string().min(1).max(64)]),
  method: z.string().min(1).max(100),
  params: z.unknown().optional(),
});
export type RequestFrame = z.infer<typeof RequestFrame>;

/** A reply: exactly one per request frame, even a malformed one (then id is null when unreadable). */
export const Reply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorInfo }),
]);
export type Reply = z.infer<typeof Reply>;

export const ResponseFrame = z.intersection(
  z.object({ type: z.literal('response'), id: z.union([z.number(), z.string(), z.null()]) }),
  Reply,
);
export type ResponseFrame = z.infer<typeof ResponseFrame>;

export const EventFrame = z.object({ type: z.literal('event'), event: z.string(), payload: z.unknown() });
export type EventFrame = z.infer<typeof EventFrame>;

export const ServerFrame = z.union([ResponseFrame, EventFrame]);

/** Frames larger than this are refused before parsing (a dropped image is well under it). */
export const MAX_FRAME_BYTES = 48 * 1024 * 1024;
