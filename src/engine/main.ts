// The engine process: training, evaluation and inspection run here, away from the window and the
// service, so that neither blocks while tfjs computes and a crash here fails a run, not the app.
// Started by src/service/engine-process.ts (Node) or electron/engine-process.ts (utilityProcess).
import { connectParent } from './port.ts';
import { createDispatcher } from './dispatch.ts';
import { EngineDevices, deviceDeps } from './devices.ts';
import { engineHandlers } from './handlers.ts';
import { heapFault } from './fault.ts';

const port = connectParent();
// The page opener the host gave this engine (Electron: its hidden windows), else headless Chromium.
const devices = new EngineDevices(deviceDeps({ openPage: port.openPage }));
const dispatch = createDispatcher((m) => port.post(m), engineHandlers(devices), heapFault);
port.onMessage((msg) => void dispatch(msg));
port.post({ type: 'ready', pid: process.pid });
