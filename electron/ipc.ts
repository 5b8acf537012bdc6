// Wires every request of the contract to one ipcMain handler, and every event to the window. Each
// handler checks the sender is our page, then hands the raw payload to the service, which validates it
// with the contract's schema and always replies { ok, result } or { ok: false, error } (never throws:
// Electron would flatten a thrown error into an unreadable string).
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { EVENT_CHANNEL, REQUEST_NAMES, requestChannel, type RequestName } from '../src/protocol/names.ts';
import type { Reply } from '../src/protocol/wire.ts';
import type { StudioService } from '../src/service/service.ts';
import { isAppUrl } from './security.ts';

export function registerIpc(ipcMain: IpcMain, service: Pick<StudioService, 'handle'>): string[] {
  const channels: string[] = [];
  for (const name of REQUEST_NAMES) {
    const channel = requestChannel(name);
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, params: unknown): Promise<Reply> => {
      if (!isAppUrl(event.senderFrame?.url)) {
        return Promise.resolve({ ok: false, error: { code: 'invalid_request', message: `${name}: refused: the request did not come from the studio's page` } });
      }
      return service.handle(name satisfies RequestName, params);
    });
    channels.push(channel);
  }
  return channels;
}

/** Sends every service event to the window while it exists. */
export function forwardEvents(service: Pick<StudioService, 'on'>, contents: () => WebContents | null): () => void {
  return service.on((event, payload) => {
    const wc = contents();
    if (wc && !wc.isDestroyed()) wc.send(EVENT_CHANNEL, { event, payload });
  });
}
