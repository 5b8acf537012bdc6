// What the Electron engine (a utilityProcess) and the main process say to each other about hidden-window devices.
// The engine asks for a device; main opens a hidden window on the device page and answers with one end of a
// MessageChannelMain (the message's transfer), the window's preload holding the other. Free of tfjs and of
// Electron, so main, the engine and the preload all import it; checked by hand where it arrives (it crosses a
// process boundary), because main must not load zod's schemas of the whole contract for three messages.
import { isPageBackend, type PageBackend } from '../backend/names.ts';

/** The message the window's preload forwards the port with, and the page waits for (page/entry.ts). */
export const DEVICE_PORT_MESSAGE = 'mobilevit-device-port';

/** Engine → main. `id` names the device in every later message. */
export type WindowRequest =
  | { type: 'device.open'; id: number; backend: PageBackend }
  /** The engine is done with the device (or gave up waiting): main closes its window. */
  | { type: 'device.close'; id: number };

/** Main → engine. */
export type WindowReply =
  /** The window loaded; the port to its page is the message's transfer. `host` names it for users. */
  | { type: 'device.port'; id: number; host: string }
  /** No window: why, in a user's words. */
  | { type: 'device.error'; id: number; error: string }
  /** The window's renderer went away after the port was handed over (a crash, the OS killed it). */
  | { type: 'device.lost'; id: number; reason: string };

type Loose = { type?: unknown; id?: unknown; [k: string]: unknown };
const loose = (m: unknown): Loose | null => (m && typeof m === 'object' ? (m as Loose) : null);
const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Whether a message is about hidden-window devices at all (so the service never sees it), valid or not. */
export const isDeviceMessage = (message: unknown): boolean => {
  const type = loose(message)?.type;
  return typeof type === 'string' && type.startsWith('device.');
};

export function asWindowRequest(message: unknown): WindowRequest | null {
  const m = loose(message);
  if (!m || !isId(m.id)) return null;
  if (m.type === 'device.open' && typeof m.backend === 'string' && isPageBackend(m.backend)) return { type: m.type, id: m.id, backend: m.backend };
  if (m.type === 'device.close') return { type: m.type, id: m.id };
  return null;
}

export function asWindowReply(message: unknown): WindowReply | null {
  const m = loose(message);
  if (!m || !isId(m.id)) return null;
  if (m.type === 'device.port' && typeof m.host === 'string') return { type: m.type, id: m.id, host: m.host };
  if (m.type === 'device.error' && typeof m.error === 'string') return { type: m.type, id: m.id, error: m.error };
  if (m.type === 'device.lost' && typeof m.reason === 'string') return { type: m.type, id: m.id, reason: m.reason };
  return null;
}
