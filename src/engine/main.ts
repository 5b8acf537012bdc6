// The engine process: training, evaluation and inspection run here, away from the window and the
// service, so that neither blocks while tfjs computes and a crash here fails a run, not the app.
// Started by src/service/engine-process.ts (Node) or electron/engine-process.ts (utilityProcess).
import { connectParent } from './port.ts';
import { createDispatcher } from './dispatch.ts';
import { EngineDevices, deviceDeps } from './devices.ts';
import { engineHandlers } from './handlers.ts';
import { heapFault } from './fault.ts';
import { WindowDevices } from './window-devices.ts';

const port = connectParent();
// Under Electron, page devices are hidden windows of the main process, whose answers arrive on this port too;
// elsewhere headless Chromium. The engine's one device holder gets that opener (src/device/choice.ts).
const windows = port.electron ? new WindowDevices((m) => port.post(m)) : null;
const devices = new EngineDevices(deviceDeps(windows ? { openPage: (backend, opts) => windows.open(backend, opts) } : {}));
const dispatch = createDispatcher((m) => port.post(m), engineHandlers(devices), heapFault);
port.onMessage((msg, ports) => {
  if (!windows?.receive(msg, ports)) void dispatch(msg);
});
port.post({ type: 'ready', pid: process.pid });
