// One worker of the parallel device (parallel.ts): a DeviceKernel on its own TensorFlow.js backend (its own
// wasm instance, its own thread), answering DeviceCalls from its parent, one at a time and in order, as a
// page device does. Its first message is {ready: DeviceInfo} or {failed: reason} (channel.ts's hello).
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.ts';
import { DeviceKernel } from './kernel.ts';
import type { DeviceCall, DeviceInfo } from './wire.ts';

const init = workerData as { backend: string; info: Omit<DeviceInfo, 'tfBackend'> };
const port = parentPort!;

try {
  await initBackend(init.backend);
} catch (e) {
  port.postMessage({ failed: (e as Error).message ?? String(e) });
  throw e;
}
const info: DeviceInfo = { ...init.info, tfBackend: tf.getBackend() };
const kernel = new DeviceKernel(() => info);
let queue = Promise.resolve();
port.on('message', (call: DeviceCall) => {
  queue = queue.then(async () => {
    try {
      // Typed arrays go back as copies (structured clone): a backend may hand out views of memory it reuses.
      port.postMessage({ id: call.id, ok: true, result: await kernel.handle(call) });
    } catch (e) {
      port.postMessage({ id: call.id, ok: false, error: (e as Error).message ?? String(e) });
    }
  });
});
port.postMessage({ ready: info });
