// The hidden device window's preload: passes the MessagePort that main sends (electron/device-window.ts) on to the
// page (src/device/page/entry.ts), which cannot reach ipcRenderer (sandboxed, context-isolated). Nothing else: the
// page gets no API, only the port to the engine. Bundled like preload.ts (vite.preload.config.ts).
import { ipcRenderer } from 'electron';
import { DEVICE_PORT_MESSAGE } from '../src/device/window-messages.ts';

ipcRenderer.on(DEVICE_PORT_MESSAGE, (e) => window.postMessage(DEVICE_PORT_MESSAGE, '*', e.ports));
