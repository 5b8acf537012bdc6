// An engine whose WebAssembly heap aborted does not recover: Emscripten marks the module aborted, and every
// later call into it fails with "Aborted()" while the process keeps its gigabytes. The engine tells such a
// failure from an ordinary one (by the error, or by its backend no longer computing afterwards) and says
// so with a 'fault' message; the service then replaces it (src/service/engine-handle.ts).
import * as tf from '@tensorflow/tfjs';
import { isWasmMemoryFault } from '../model/memory.ts';

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Whether this process's backend still computes: a tiny op, which an aborted module fails. */
export function backendAlive(): boolean {
  try {
    const t = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)));
    const two = t.dataSync()[0];
    t.dispose();
    return two === 2;
  } catch {
    return false;
  }
}

/** Why the engine must be replaced after `failure` (an error, or a run's failure message), or null when it can go on. */
export function heapFault(failure: unknown): string | null {
  if (isWasmMemoryFault(failure)) return `WebAssembly heap aborted (${firstLine(failure)})`;
  if (!backendAlive()) return `backend stopped computing after: ${firstLine(failure)}`;
  return null;
}
