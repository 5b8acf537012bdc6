// One onnxruntime session per worker thread, each on one intra-op thread, a batch cut into contiguous parts that
// run at the same time. Why not one session on every core: onnxruntime-node runs a session synchronously on the
// calling thread, and its intra-op pool synchronises at every node (about 330 of them in a MobileViT pass), its
// idle threads spinning. On a 2-core machine shared with other work that spinning cost as much CPU as the work
// itself (measured: 21 ms of CPU per 224-px XXS image on 2 spinning threads, 12 on two single-thread sessions,
// 11 on one). Independent sessions never wait for each other, so they keep every core busy whatever else runs.
//
// The worker is a few lines of CommonJS given as source (`eval`), loading onnxruntime-node from where this process
// resolves it: no entry file to build or register with tsx, whether the CLI runs compiled (dist-cli) or from sources.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { split } from '../util/split.ts';
import { loadOrt, nhwcToNchw, type OrtOutput } from './ort.ts';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
ort.InferenceSession.create(workerData.model, {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
}).then((session) => {
  parentPort.on('message', async ({ id, x, dims }) => {
    try {
      const out = await session.run({ [workerData.input]: new ort.Tensor('float32', x, dims) });
      const outputs = workerData.outputs.map((name) => ({ data: new Float32Array(out[name].data), dims: out[name].dims.map(Number) }));
      for (const t of Object.values(out)) t.dispose && t.dispose();
      parentPort.postMessage({ id, outputs }, outputs.map((o) => o.data.buffer));
    } catch (e) {
      parentPort.postMessage({ id, error: String(e && e.message || e) });
    }
  });
  parentPort.postMessage({ ready: true });
}, (e) => parentPort.postMessage({ failed: String(e && e.message || e) }));
`;

/** An output of the model: per image (its first axis the batch's, cut and joined by rows), or the same for every batch. */
export interface OutputSpec { name: string; perImage: boolean }

interface Reply { id?: number; outputs?: OrtOutput[]; error?: string; ready?: boolean; failed?: string }

/** A session on one worker thread. */
class SessionWorker {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (d: OrtOutput[]) => void; reject: (e: Error) => void }>();
  private ended: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id!);
      if (m.error !== undefined) p.reject(new Error(`onnxruntime: ${m.error}`));
      else p.resolve(m.outputs!);
    });
    const end = (e: Error) => {
      this.ended ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', end);
    worker.on('exit', (code) => end(new Error(`onnxruntime worker exited (code ${code})`)));
  }

  static start(model: Uint8Array, input: string, outputs: readonly string[]): Promise<SessionWorker> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, model, input, outputs } });
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => { void worker.terminate(); reject(e); };
      const exited = (code: number) => failed(new Error(`onnxruntime worker exited before its session opened (code ${code})`));
      worker.once('error', failed);
      worker.once('exit', exited);
      worker.once('message', (m: Reply) => {
        worker.off('error', failed);
        worker.off('exit', exited);
        if (m.ready) resolve(new SessionWorker(worker));
        else failed(new Error(`onnxruntime could not open the model: ${m.failed ?? 'no reason given'}`));
      });
    });
  }

  run(x: Float32Array, dims: number[]): Promise<OrtOutput[]> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, x, dims }, [x.buffer as ArrayBuffer]); // x is a part's own copy: the worker owns it now
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** `threads` single-thread sessions of one ONNX model with one input, each on its own worker thread. */
export class OrtWorkers {
  private constructor(private readonly workers: SessionWorker[], private readonly outputs: readonly OutputSpec[]) {}

  get threads(): number {
    return this.workers.length;
  }

  static async start(model: Uint8Array, o: { input: string; outputs: readonly OutputSpec[]; threads: number }): Promise<OrtWorkers> {
    await loadOrt(); // a machine where the binary cannot load gets its one readable error here, not one per worker
    const n = Math.max(1, Math.floor(o.threads));
    const names = o.outputs.map((out) => out.name);
    const started = await Promise.allSettled(Array.from({ length: n }, () => SessionWorker.start(model, o.input, names)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      await Promise.all(workers.map((w) => w.close()));
      throw failed.reason;
    }
    return new OrtWorkers(workers, o.outputs);
  }

  /**
   * The outputs of `batch` NHWC images of h × w in [0, 1] (the model's input is their NCHW), in the order of
   * `outputs`. The batch is cut by images across the workers, each part's input a copy the worker then owns. A
   * per-image output is the parts' joined by rows; one the same for every batch is the first part's.
   */
  async run(nhwc: Float32Array, batch: number, h: number, w: number): Promise<OrtOutput[]> {
    const pixels = h * w * 3;
    if (nhwc.length < batch * pixels) throw new Error(`onnxruntime: ${batch} images of ${h}×${w} need ${batch * pixels} values, got ${nhwc.length}`);
    const at = split(batch, Math.min(this.workers.length, batch));
    const parts = await Promise.all(at.slice(0, -1).map((from, i) => {
      const to = at[i + 1];
      return this.workers[i].run(nhwcToNchw(nhwc.subarray(from * pixels, to * pixels), to - from, h, w), [to - from, 3, h, w]);
    }));
    return this.outputs.map((spec, k) => {
      const first = parts[0][k];
      if (!spec.perImage) return first;
      const perImage = first.dims.slice(1);
      const rowSize = perImage.reduce((a, d) => a * d, 1);
      const data = new Float32Array(batch * rowSize);
      parts.forEach((part, i) => {
        const { data: p, dims: d } = part[k];
        if (d[0] !== at[i + 1] - at[i] || d.slice(1).join() !== perImage.join()) throw new Error(`onnxruntime returned ${spec.name} of dims [${d}] for ${at[i + 1] - at[i]} images of [${perImage}]`);
        data.set(p, at[i] * rowSize);
      });
      return { data, dims: [batch, ...perImage] };
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
