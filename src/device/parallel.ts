// wasm on every core: a compute device made of worker threads of this process, each a DeviceKernel with its
// own wasm instance and a replica of the model (kernel-worker.ts). TensorFlow.js's wasm backend runs on one
// thread in Node, so this is how training and evaluation use the machine's other cores.
//
// Training is data parallel, as PyTorch's DistributedDataParallel on one machine: a step's batch is cut into
// passes, each worker runs the forward and backward passes of its share, the workers sum the shares' gradients
// in a SharedArrayBuffer (exchange.ts: in share order, as one sum here would), and every replica applies the
// same sum: the same clipping, AdamW and EMA update, so the replicas stay equal. One message per worker and
// step ('share-step'): the main thread sends the shares and reads the losses, nothing in between. What that
// changes against one thread:
// - BatchNorm normalises each pass with that pass's statistics: the step equals one thread's step with
//   imagesPerPass = the pass size here (parallelPassSize: at most ⌈batch / workers⌉, and small enough that
//   the workers together hold no more images than one thread's pass), up to float summation order;
// - nothing else: the running statistics are composed as one thread's passes in a row would leave them
//   (optim/trainer.ts combineStatistics).
// Each pass draws its own dropout seeds (util/random.ts stepSeeds), so results depend on the seed and the
// worker count, never on timing. Inference splits the images by rows and is exact whatever the split: a run
// on this device computes its evaluation, a quick run's backbone features and predictions here too.
// Inference shares are sent as copies of their rows (a structured clone of a view would copy the whole batch's
// buffer); a training step's batch is copied once into memory the workers share, and each worker gets a view of
// its rows (a clone of a view of a SharedArrayBuffer shares it), so that every worker starts at once.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Model } from '../model/model.ts';
import { passSize, type StepResult } from '../optim/trainer.ts';
import { openPageDevice, pageChannel, type Endpoint } from './channel.ts';
import type { ChannelDevice, ComputeDevice } from './device.ts';
import type { AttentionCapture } from '../inspect/capture.ts';
import type { DenseOutput } from '../inspect/dense-predict.ts';
import { abortExchange, ANOTHER_FAILED, exchangeBytes, resetExchange } from './exchange.ts';
import { imagesIn, type DeviceInfo, type DeviceRequest, type DeviceResults } from './wire.ts';
import { workerSource } from './worker-source.ts';
import { split } from '../util/split.ts';

/** The studio's name for this device. */
export const WORKERS_DEVICE = 'wasm-workers';

/** A worker builds its wasm instance in well under a second; a minute means it is stuck. */
const START_TIMEOUT_MS = 60_000;

function workerEndpoint(worker: Worker): Endpoint {
  return {
    send: (m) => worker.postMessage(m),
    onMessage: (fn) => void worker.on('message', fn),
    onClose: (fn) => {
      worker.on('error', (e) => fn(`its thread failed: ${e.message}`));
      worker.on('exit', (code) => fn(`its thread exited (code ${code})`));
    },
    close: () => void worker.terminate(),
  };
}

/** Threads the device uses by default: one per core. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** The arrays one after another. */
function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** MOBILEVIT_WORKERS=0: the wasm-workers device is off ('auto' does not measure it; asking for it says so). */
export function workersOff(env: Record<string, string | undefined>): boolean {
  return env.MOBILEVIT_WORKERS?.trim() === '0';
}

/**
 * The device --backend wasm-workers names: one worker per core, or MOBILEVIT_WORKERS of them (a run is
 * reproducible for a given seed and worker count, so a user who moves a run between machines can pin it).
 * Async: a bad MOBILEVIT_WORKERS rejects (for 'auto', one candidate that did not start), never throws at the call.
 */
export async function openWorkerDevice(env: Record<string, string | undefined> = process.env): Promise<ParallelDevice> {
  const raw = env.MOBILEVIT_WORKERS?.trim();
  if (!raw) return ParallelDevice.open();
  if (workersOff(env)) throw new Error(`${WORKERS_DEVICE} is turned off (MOBILEVIT_WORKERS=0)`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new Error(`MOBILEVIT_WORKERS must be a whole number from 1 to 256 (0: off), got "${raw}"`);
  return ParallelDevice.open(n);
}

/**
 * Images per pass when `workers` run passes at once and one thread's memory bound is `imagesPerPass`: the
 * workers together hold no more images at a time than one thread's pass would (so a step's peak memory is
 * not multiplied by the worker count), and the passes come in a multiple of the worker count, equal sizes,
 * so that every worker has the same work. At most ⌈n / workers⌉.
 */
export function parallelPassSize(n: number, workers: number, imagesPerPass: number): number {
  const cap = Math.max(1, Math.floor(imagesPerPass / workers));
  const passes = workers * Math.max(1, Math.ceil(n / (workers * cap)));
  return passSize(n, Math.ceil(n / passes));
}

/**
 * The images per pass a step of n images is cut into for a run of `workers` (its recorded worker count) where
 * one thread's memory holds `imagesPerPass`: one thread's passes (as memory allows) for 1, parallelPassSize for
 * more. What the loop and a measurement send with a step; every device then trains in passes of exactly that.
 */
export function passImages(n: number, workers: number, imagesPerPass: number): number {
  return workers <= 1 ? passSize(n, imagesPerPass) : parallelPassSize(n, workers, imagesPerPass);
}

export class ParallelDevice implements ComputeDevice {
  readonly info: DeviceInfo;
  /** Round robin for calls one worker answers alone (the replicas are equal). */
  private nextWorker = 0;
  /** What a worker's slot of the step's shared memory must hold: the trained model's parameters and values. */
  private capacity = { keys: 0, floats: 0 };
  private exchange: { memory: SharedArrayBuffer; keys: number; floats: number } | null = null;
  /** A step's pixels and labels, shared with the workers (grown to the largest batch). */
  private inputs: SharedArrayBuffer | null = null;

  private constructor(private readonly workers: ChannelDevice[]) {
    const n = workers.length;
    this.info = { name: WORKERS_DEVICE, tfBackend: workers[0].info.tfBackend, host: `${n} worker thread${n === 1 ? '' : 's'} of this process`, adapter: `${n} thread${n === 1 ? '' : 's'}, data parallel`, software: false, threads: n, workers: n };
  }

  /** `threads` workers (default: one per core), each on the in-process backend `backend` (wasm). */
  static async open(threads = defaultThreads(), backend = 'wasm'): Promise<ParallelDevice> {
    const n = Math.max(1, Math.floor(threads));
    const source = workerSource('kernel-worker');
    const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => {
      const info = { name: WORKERS_DEVICE, host: `worker thread ${i + 1} of ${n}`, adapter: '1 thread', software: false };
      const worker = new Worker(source, { eval: true, workerData: { backend, info } });
      return openPageDevice(pageChannel(workerEndpoint(worker)), {
        backend, host: `worker thread ${i + 1}`, timeoutMs: START_TIMEOUT_MS, release: async () => void (await worker.terminate()),
      });
    }));
    const workers = started.filter((s): s is PromiseFulfilledResult<ChannelDevice> => s.status === 'fulfilled').map((s) => s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.close()));
      throw new Error(`${WORKERS_DEVICE}: a worker thread could not start: ${(failed.reason as Error).message}`);
    }
    return new ParallelDevice(workers);
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Every call that may change the model reaches the first worker (it always computes the first share). */
  get modelChanges(): number | undefined {
    return this.workers[0].modelChanges;
  }

  async call<R extends DeviceRequest>(req: R): Promise<DeviceResults[R['op']]> {
    return (await this.dispatch(req)) as DeviceResults[R['op']];
  }

  private async dispatch(req: DeviceRequest): Promise<unknown> {
    switch (req.op) {
      case 'info':
        return this.info;
      case 'open':
        this.capacity = { keys: req.weights.size, floats: [...req.weights.values()].reduce((s, t) => s + t.data.length, 0) };
        await Promise.all(this.workers.map((w) => w.call(req)));
        return null;
      case 'close':
        await Promise.all(this.workers.map((w) => w.call(req)));
        return null;
      case 'step':
        return this.step(req);
      case 'logits':
      case 'features':
        return this.rows(req);
      case 'attention':
        return this.attention(req);
      case 'receptive-field':
        // One image: calls for different blocks (the inspector sends them together) go to different workers.
        return this.workers[this.nextWorker++ % this.workers.length].call(req);
      case 'share-step':
        throw new Error(`${WORKERS_DEVICE}: '${req.op}' is its own workers' part of a step; send 'step'`);
      default:
        // Replicas are equal: one answers reads (weights, optimizer state) and inspections.
        return this.workers[0].call(req);
    }
  }

  /**
   * One optimizer step: the batch in passes of `imagesPerPass` images, a contiguous run of passes per worker,
   * their gradient sums added in worker order and applied everywhere, by the workers (exchange.ts).
   */
  private async step(req: Extract<DeviceRequest, { op: 'step' }>): Promise<StepResult> {
    const n = imagesIn(req);
    const perImage = req.size * req.size * 3;
    const labelsPerImage = req.labels.length / n; // a class, a label map or a detector's anchor targets
    // The caller's pass size (passImages), so a step is the same on any device; without one, a pass per worker.
    const per = passSize(n, req.imagesPerPass ?? Math.ceil(n / this.workers.length));
    const passes = Math.ceil(n / per);
    const bounds = split(passes, Math.min(this.workers.length, passes));
    const sharePasses = bounds.slice(1).map((end, i) => end - bounds[i]);
    const { memory, keys, floats } = this.exchangeMemory();
    const { x, labels } = this.sharedInputs(req.x, req.labels);
    const settled = await Promise.allSettled(this.workers.map((w, i) => {
      // A worker past the shares (fewer passes than workers) sends no images and applies the others' sum.
      const first = bounds[Math.min(i, sharePasses.length)];
      const [a, b] = [first * per, Math.min(n, bounds[Math.min(i + 1, sharePasses.length)] * per)];
      return w.call({
        op: 'share-step', x: x.subarray(a * perImage, b * perImage), size: req.size, labels: labels.subarray(a * labelsPerImage, b * labelsPerImage),
        lr: req.lr, seed: req.seed, step: req.step, share: { batchSize: n, firstPass: first, perPass: per, frozenBackbone: req.frozen },
        exchange: { memory, worker: i, workers: this.workers.length, sharePasses, keys, floats },
      }).catch((e: Error) => {
        abortExchange(memory); // a worker that failed or went away: the others stop waiting for it
        throw e;
      });
    }));
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
    // The failure itself, not the other workers' "another worker failed".
    if (failures.length) throw failures.find((e) => e.message !== ANOTHER_FAILED) ?? failures[0];
    const results = settled.map((s) => (s as PromiseFulfilledResult<DeviceResults['share-step']>).value);
    let loss = 0, correct = 0, counted = 0;
    for (const { share } of results.slice(0, sharePasses.length)) {
      loss += share!.loss;
      correct += share!.correct;
      counted += share!.counted ?? 0;
    }
    // What `correct` counts out of, where the objective counts something other than images (Trainer.step's rule).
    return { loss, correct, gradNorm: results[0].gradNorm, ...(results[0].share!.counted === undefined ? {} : { counted }) };
  }

  /** `x` and `labels` copied into the memory shared with the workers (they are done with the last step's). */
  private sharedInputs(x: Float32Array, labels: Int32Array): { x: Float32Array; labels: Int32Array } {
    if (!this.inputs || this.inputs.byteLength < x.byteLength + labels.byteLength) this.inputs = new SharedArrayBuffer(x.byteLength + labels.byteLength);
    const shared = { x: new Float32Array(this.inputs, 0, x.length), labels: new Int32Array(this.inputs, x.byteLength, labels.length) };
    shared.x.set(x);
    shared.labels.set(labels);
    return shared;
  }

  /** The step's shared memory for the model the device was opened with, ready for a step. */
  private exchangeMemory(): { memory: SharedArrayBuffer; keys: number; floats: number } {
    const want = this.capacity;
    if (!this.exchange || this.exchange.keys !== want.keys || this.exchange.floats !== want.floats) {
      this.exchange = { memory: new SharedArrayBuffer(exchangeBytes(this.workers.length, want.keys, want.floats)), ...want };
    }
    resetExchange(this.exchange.memory);
    return this.exchange;
  }

  /**
   * Attention of several images split across the workers by images and put back together: the sequences of
   * each layer are image-major (b·P + p, model/unfold.ts), so each block's layers are the workers' arrays one
   * after another, and so are the probabilities. One image goes to the next worker.
   */
  private async attention(req: Extract<DeviceRequest, { op: 'attention' }>): Promise<AttentionCapture> {
    if (req.shape[0] < 2 || this.workers.length === 1) return this.workers[this.nextWorker++ % this.workers.length].call(req);
    const parts = await this.byImages(req);
    const [first] = parts;
    return {
      ...first,
      probs: concat(parts.map((p) => p.probs)),
      dense: denseOfParts(parts.map((p) => p.dense)),
      blocks: first.blocks.map((block, k) => ({
        ...block,
        batch: parts.reduce((s, p) => s + p.blocks[k].batch, 0),
        layers: block.layers.map((_, l) => concat(parts.map((p) => p.blocks[k].layers[l]))),
      })),
    };
  }

  /** Inference rows split across the workers, in order (each image is computed on its own: the split is exact). */
  private async rows(req: Extract<DeviceRequest, { op: 'logits' | 'features' }>): Promise<Float32Array> {
    return concat(await this.byImages(req));
  }

  /** `req` for images [n, h, w, c] sent as contiguous runs of its images, one run per worker; the answers in order. */
  private byImages<R extends Extract<DeviceRequest, { op: 'logits' | 'features' | 'attention' }>>(req: R): Promise<Array<DeviceResults[R['op']]>> {
    const [n, h, w, c] = req.shape;
    const bounds = split(n, Math.min(this.workers.length, n));
    return Promise.all(bounds.slice(1).map((end, i) => this.workers[i].call({
      ...req, x: req.x.slice(bounds[i] * h * w * c, end * h * w * c), shape: [end - bounds[i], h, w, c],
    } as R)));
  }

  localModel(): Model | null {
    return null;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

/** A dense network's outputs of the workers' runs of images, as one pass over them all gives them (image-major). */
function denseOfParts(parts: Array<DenseOutput | null>): DenseOutput | null {
  const [first] = parts;
  if (first === null) return null;
  if (first.task === 'segmentation') {
    const runs = parts as Array<Extract<DenseOutput, { task: 'segmentation' }>>;
    const [, h, w, c] = first.shape;
    return { task: 'segmentation', logits: concat(runs.map((p) => p.logits)), shape: [runs.reduce((s, p) => s + p.shape[0], 0), h, w, c] };
  }
  const runs = parts as Array<Extract<DenseOutput, { task: 'detection' }>>;
  return { ...first, boxDeltas: concat(runs.map((p) => p.boxDeltas)), classLogits: concat(runs.map((p) => p.classLogits)) };
}
