// Inference passes on every core. TensorFlow.js's wasm backend runs on one thread in Node, so a batch of
// forward passes (a quick run's backbone features, evaluation) is split by rows: this thread computes the
// first share and each worker thread (its own wasm instance and model replica) one of the others, in
// parallel. Inference treats every image on its own (BatchNorm uses its running statistics), so the
// result does not depend on the split. Workers that cannot start leave the pool with fewer of them.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/index.ts';
import { stateDict } from '../model/weights.ts';
import { workerSource } from './worker-source.ts';

export type PassKind = 'features' | 'logits';
export interface PoolRequest { id: number; what: PassKind; x: Float32Array; n: number; size: number }
export type PoolReply = { id: number; data: Float32Array } | { id: number; error: string };

/** Inference-mode outputs of n images [n, size, size, 3] on this thread: pooled features or logits. */
export async function inferenceRows(model: Model, what: PassKind, x: Float32Array, n: number, size: number): Promise<Float32Array> {
  const t = tf.tensor4d(x, [n, size, size, 3]);
  try {
    const out = what === 'features' ? model.features(t, { training: false }) : model.forward(t, { training: false });
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  } finally {
    t.dispose();
  }
}

/** Threads the pool uses by default: one per core, this one included. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Starting a worker costs about a second (a wasm instance, a model replica): the pool pays for itself from a few
 * seconds of passes on, about 64 images at 224 px. Below this many input pixels, one thread does the work.
 */
export const POOL_WORTH_PIXELS = 64 * 224 * 224;

/** Threads for `pixels` of inference work: every core when it pays, else this one. */
export function threadsFor(pixels: number): number {
  return pixels >= POOL_WORTH_PIXELS ? defaultThreads() : 1;
}

export class ForwardPool {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();

  private constructor(private readonly model: Model, private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: PoolReply) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if ('error' in m) p.reject(new Error(`forward worker: ${m.error}`));
        else p.resolve(m.data);
      });
    }
  }

  /** Threads in use, this one included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * A pool of `threads` (this thread and threads − 1 workers) holding the model's current weights. Workers
   * that fail to start are left out, and `onNote` says why; the pool then works with fewer.
   */
  static async start(model: Model, threads = defaultThreads(), onNote?: (note: string) => void): Promise<ForwardPool> {
    if (threads <= 1) return new ForwardPool(model, []);
    const source = workerSource('forward-worker');
    const workerData = { backend: tf.getBackend(), variant: model.variant, numClasses: model.numClasses, weights: stateDict(model) };
    const started = await Promise.allSettled(Array.from({ length: threads - 1 }, () => new Promise<Worker>((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData });
      w.once('message', (m: { ready?: string; failed?: string }) => (m.ready ? resolve(w) : reject(new Error(m.failed ?? 'no ready message'))));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`exited with code ${code}`)));
    })));
    const workers = started.filter((s): s is PromiseFulfilledResult<Worker> => s.status === 'fulfilled').map((s) => s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) onNote?.(`${started.length - workers.length} of ${threads - 1} forward worker(s) could not start (${(failed.reason as Error).message}): inference passes use ${workers.length + 1} thread(s)`);
    for (const w of workers) w.removeAllListeners('exit').removeAllListeners('error').unref();
    return new ForwardPool(model, workers);
  }

  /** Inference-mode outputs of n images [n, size, size, 3] (pooled features or logits), rows in order. */
  async run(what: PassKind, x: Float32Array, n: number, size: number): Promise<Float32Array> {
    const perImage = size * size * 3;
    const shares = Math.min(this.threads, n);
    const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * n) / shares));
    // Workers first (they run while this thread computes its own share).
    const remote = this.workers.slice(0, shares - 1).map((w, i) => {
      const [a, b] = [bounds[i + 1], bounds[i + 2]];
      const id = this.nextId++;
      const rows = x.slice(a * perImage, b * perImage);
      return new Promise<Float32Array>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        const req: PoolRequest = { id, what, x: rows, n: b - a, size };
        w.postMessage(req, [rows.buffer]);
      });
    });
    const local = inferenceRows(this.model, what, x.subarray(0, bounds[1] * perImage), bounds[1], size);
    const parts = [await local, ...(await Promise.all(remote))];
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  /** The pool as a model for evaluation: logits of a batch, computed across the threads. */
  asLogitsModel(): { forward(x: tf.Tensor4D): Promise<tf.Tensor2D> } {
    return {
      forward: async (x) => {
        const [n, h, w] = x.shape;
        if (h !== w) throw new RangeError(`the forward pool takes square images, got ${h}×${w}`);
        const rows = await this.run('logits', (await x.data()) as Float32Array, n, h);
        return tf.tensor2d(rows, [n, rows.length / n]);
      },
    };
  }

  async close(): Promise<void> {
    for (const p of this.pending.values()) p.reject(new Error('the forward pool was closed'));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
