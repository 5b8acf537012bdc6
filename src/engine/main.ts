// The engine process: training, evaluation and inspection run here, away from the window and the
// service, so that neither blocks while tfjs computes and a crash here fails a run, not the app.
// Started by src/service/engine-process.ts (Node) or electron/engine-process.ts (utilityProcess).
import { connectParent } from './port.ts';
import { createDispatcher } from './dispatch.ts';
import { HANDLERS } from './handlers.ts';
import { heapFault } from './fault.ts';
import { useWindowDevices } from './window-devices.ts';

const port = connectParent();
const dispatch = createDispatcher((m) => port.post(m), HANDLERS, heapFault);
// Under Electron, page devices are hidden windows of the main process, whose answers arrive on this port too.
const windows = port.electron ? useWindowDevices((m) => port.post(m)) : null;
port.onMessage((msg, ports) => {
  if (!windows?.receive(msg, ports)) void dispatch(msg);
});
port.post({ type: 'ready', pid: process.pid });
