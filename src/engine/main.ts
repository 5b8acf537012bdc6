// The engine process: training, evaluation and inspection run here, away from the window and the
// service, so that neither blocks while tfjs computes and a crash here fails a run, not the app.
// Started by src/engine/process.ts (Node) or electron/engine-process.ts (utilityProcess).
import { connectParent } from './port.ts';
import { createDispatcher } from './dispatch.ts';
import { HANDLERS } from './handlers.ts';

const port = connectParent();
port.onMessage(createDispatcher((m) => port.post(m), HANDLERS));
port.post({ type: 'ready', pid: process.pid });
