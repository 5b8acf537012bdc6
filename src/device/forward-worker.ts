// One worker of the forward pool: its own TensorFlow.js backend (its own wasm instance, its own thread)
// and a replica of the model, answering forward passes on the rows it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.ts';
import { createModel } from '../model/index.ts';
import type { TensorMap } from '../model/safetensors.ts';
import { loadWeights } from '../model/weights.ts';
import type { VariantName } from '../model/types.ts';
import { inferenceRows, type PoolReply, type PoolRequest } from './forward-pool.ts';

const init = workerData as { backend: string; variant: VariantName; numClasses: number; weights: TensorMap };
const port = parentPort!;

await initBackend(init.backend);
const model = createModel(init.variant, { numClasses: init.numClasses });
loadWeights(model, init.weights, { allowHeadMismatch: false, source: 'the pool' });

port.on('message', async (req: PoolRequest) => {
  let reply: PoolReply;
  try {
    reply = { id: req.id, data: await inferenceRows(model, req.what, req.x, req.n, req.size) };
  } catch (e) {
    reply = { id: req.id, error: (e as Error).message ?? String(e) };
  }
  // Copied, not transferred: a backend may hand out a view of its own memory.
  port.postMessage(reply);
});
port.postMessage({ ready: tf.getBackend() });
