// The only bridge between the window and the studio: window.studio = { request, on }. Runs sandboxed
// (no Node), so it is bundled into one CommonJS file with nothing but the request names (no zod: the
// main process validates everything that arrives). The renderer wraps it in src/protocol/client.ts.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_CHANNEL, isRequestName, requestChannel } from '../src/protocol/names.ts';
import type { StudioBridge } from '../src/protocol/contract.ts';

const bridge: StudioBridge = {
  request(name, params) {
    if (!isRequestName(name)) {
      return Promise.resolve({ ok: false, error: { code: 'invalid_request', message: `unknown request "${String(name).slice(0, 100)}"` } });
    }
    return ipcRenderer.invoke(requestChannel(name), params);
  },
  on(listener) {
    const handler = (_e: IpcRendererEvent, msg: { event?: unknown; payload?: unknown } | null) => {
      if (msg && typeof msg.event === 'string') listener(msg.event, msg.payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('studio', bridge);
