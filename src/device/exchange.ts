// How the wasm-workers device's workers (parallel.ts) sum a step's gradients among themselves, in one
// SharedArrayBuffer the device allocates, instead of sending them to the main thread and back: each worker
// writes its share's gradients and BatchNorm statistics into its own slot, waits for the others (a barrier on
// Atomics), adds up one part of the gradients in share order into the first share's slot (every share's values
// in a row, as the main thread's sum did: the same float operations), waits again, and then every replica
// reads the same sum. So the step's result is what the sum on the main thread gave, bit for bit, while the
// main thread stays out of the step and the 2 × 1.3 M floats of an XXS step are no longer cloned both ways.
//
// The memory: [control: 4 × i32][slot 0][slot 1]…, one slot per worker of `keys` i32 flags (which gradient a
// share has: a parameter that does not reach the loss has none) and `floats` f32 values (the gradients, then
// the statistics), both sized from the weights the device was opened with (every parameter: an upper bound).
import type { TensorMap } from '../model/safetensors.ts';
import { combineStatistics, type PassStatistics, type ShareGradients, type ShareTarget, type TrainableModel } from '../optim/trainer.ts';
import { split } from '../util/split.ts';

/** Where a worker finds the step's shared memory and its place in it (sent with each 'share-step'). */
export interface ExchangeSpec {
  memory: SharedArrayBuffer;
  worker: number;
  workers: number;
  /** The passes of each share of the step, in order (a worker at or past its length has no share). */
  sharePasses: number[];
  /** A slot's capacity: parameters and their floats. */
  keys: number;
  floats: number;
}

/** What a replica applies: the shares' gradients summed and their statistics combined. */
export interface ExchangedStep {
  grads: TensorMap;
  statistics: PassStatistics;
}

const CONTROL = 4; // i32: the two barriers' arrivals, the failure flag, padding
const [FIRST, SECOND, FAILED] = [0, 1, 2];

/** The message a worker fails with when another worker's part of the step failed (parallel.ts reports the other). */
export const ANOTHER_FAILED = "the step stopped: another worker's part of it failed";

/** Bytes of the shared memory for `workers` slots of `keys` parameters holding `floats` values. */
export function exchangeBytes(workers: number, keys: number, floats: number): number {
  return 4 * (CONTROL + workers * (keys + floats));
}

/** Ready for a step: nobody arrived, nothing failed (no worker is inside a step while the device calls this). */
export function resetExchange(memory: SharedArrayBuffer): void {
  new Int32Array(memory, 0, CONTROL).fill(0);
}

/** Stops the step: every worker waiting at a barrier, or reaching one, fails with ANOTHER_FAILED. */
export function abortExchange(memory: SharedArrayBuffer): void {
  const control = new Int32Array(memory, 0, CONTROL);
  Atomics.store(control, FAILED, 1);
  // Changing the barrier words wakes a worker about to wait on the value it read before the flag was set.
  for (const at of [FIRST, SECOND]) {
    Atomics.add(control, at, 1);
    Atomics.notify(control, at);
  }
}

/** Waits until all `workers` arrived at barrier `at`; throws if the step was aborted. */
function barrier(control: Int32Array, at: number, workers: number): void {
  Atomics.add(control, at, 1);
  Atomics.notify(control, at);
  for (;;) {
    if (Atomics.load(control, FAILED) !== 0) throw new Error(ANOTHER_FAILED);
    const arrived = Atomics.load(control, at);
    if (arrived >= workers) return;
    Atomics.wait(control, at, arrived);
  }
}

interface Entry { key: string; shape: number[]; at: number; size: number }

/**
 * The parameters in the order the trainer has them: its gradients (trainable, the head alone when the backbone
 * is frozen: Trainer.accumulate's variables, whose order the sum keeps for the norm) and its statistics (the
 * non-trainable parameters, as Trainer.readStatistics lists them), each at its place in a slot's floats.
 */
function layoutOf(model: TrainableModel, frozenBackbone: boolean): { grads: Entry[]; statistics: Entry[]; floats: number } {
  const head = new Set(model.headKeys);
  let at = 0;
  const place = (key: string, shape: number[]): Entry => {
    const size = shape.reduce((a, b) => a * b, 1);
    at += size;
    return { key, shape, at: at - size, size };
  };
  const params = [...model.params];
  const grads = params.filter(([key, p]) => p.trainable && (!frozenBackbone || head.has(key))).map(([key, p]) => place(key, p.variable.shape.slice()));
  const statistics = params.filter(([, p]) => !p.trainable).map(([key, p]) => place(key, p.variable.shape.slice()));
  return { grads, statistics, floats: at };
}

/** The bytes of one worker's slot. */
const slotBytes = (spec: ExchangeSpec): number => 4 * (spec.keys + spec.floats);

/** The values of `slot`: its gradients, then its statistics, at their layout's places. */
const valuesOf = (spec: ExchangeSpec, slot: number): Float32Array => new Float32Array(spec.memory, 4 * (CONTROL + spec.keys) + slot * slotBytes(spec), spec.floats);

/**
 * Where Trainer.shareGradients writes this worker's share: each gradient and statistic straight at its place in
 * the worker's slot, so that exchangeShares has nothing left to copy. Only for the step it is made for.
 */
export function shareTarget(spec: ExchangeSpec, model: TrainableModel, frozenBackbone: boolean): ShareTarget {
  const layout = layoutOf(model, frozenBackbone);
  if (layout.floats > spec.floats) return () => undefined; // exchangeShares reports it
  const values = valuesOf(spec, spec.worker);
  const places = new Map([...layout.grads, ...layout.statistics].map((e) => [e.key, e]));
  return (key) => {
    const e = places.get(key);
    return e && values.subarray(e.at, e.at + e.size);
  };
}

/**
 * This worker's side of the exchange: writes `mine` (null: no share this step), waits for every worker, sums its
 * part of the gradients, waits again, and returns the step's sum (views into the shared memory, valid until the
 * next step) and combined statistics. Any failure here aborts the step for the other workers.
 */
export function exchangeShares(spec: ExchangeSpec, model: TrainableModel, frozenBackbone: boolean, mine: ShareGradients | null): ExchangedStep {
  try {
    const layout = layoutOf(model, frozenBackbone);
    const keys = layout.grads.length + layout.statistics.length;
    if (keys > spec.keys || layout.floats > spec.floats) throw new Error(`the step's shared memory holds ${spec.keys} parameters of ${spec.floats} values, the model has ${keys} of ${layout.floats}`);
    const flagsOf = (slot: number) => new Int32Array(spec.memory, 4 * CONTROL + slot * slotBytes(spec), spec.keys);
    const shares = spec.sharePasses.length;
    if (mine) {
      if (mine.statistics.passes !== spec.sharePasses[spec.worker]) throw new Error(`share ${spec.worker} ran ${mine.statistics.passes} passes, the device sent ${spec.sharePasses[spec.worker]}`);
      write(mine, layout, flagsOf(spec.worker), valuesOf(spec, spec.worker));
    }
    const control = new Int32Array(spec.memory, 0, CONTROL);
    barrier(control, FIRST, spec.workers);
    // Into the first share's slot, share after share: sum += next, rounded to float each time as before.
    const sum = valuesOf(spec, 0);
    const bounds = split(layout.statistics.length ? layout.statistics[0].at : layout.floats, spec.workers);
    const [from, to] = [bounds[spec.worker], bounds[spec.worker + 1]];
    for (let s = 1; s < shares; s++) {
      const add = valuesOf(spec, s);
      for (let i = from; i < to; i++) sum[i] += add[i];
    }
    barrier(control, SECOND, spec.workers);
    const flags = flagsOf(0);
    const grads: TensorMap = new Map();
    layout.grads.forEach((e, k) => {
      if (flags[k]) grads.set(e.key, { shape: e.shape, data: sum.subarray(e.at, e.at + e.size) });
    });
    const statistics = combineStatistics(spec.sharePasses.map((passes, s) => {
      const values = valuesOf(spec, s);
      return { passes, added: new Map(layout.statistics.map((e) => [e.key, { shape: e.shape, data: values.subarray(e.at, e.at + e.size) }])) };
    }));
    return { grads, statistics };
  } catch (e) {
    abortExchange(spec.memory);
    throw e;
  }
}

/**
 * A share's gradients (flagged where present) and statistics into its slot; values already at their place
 * (shareTarget's) are not copied again.
 */
function write(mine: ShareGradients, layout: ReturnType<typeof layoutOf>, flags: Int32Array, values: Float32Array): void {
  const put = (data: Float32Array, at: number) => {
    if (data.buffer !== values.buffer || data.byteOffset !== values.byteOffset + 4 * at) values.set(data, at);
  };
  const known = new Set(layout.grads.map((e) => e.key));
  for (const key of mine.grads.keys()) if (!known.has(key)) throw new Error(`exchanging gradients: "${key}" is not a trained parameter of the model`);
  layout.grads.forEach((e, k) => {
    const g = mine.grads.get(e.key);
    flags[k] = g ? 1 : 0;
    if (g) put(g.data, e.at);
  });
  for (const e of layout.statistics) {
    const t = mine.statistics.added.get(e.key);
    if (!t || t.data.length !== e.size) throw new Error(`exchanging statistics: "${e.key}" is missing or of another size`);
    put(t.data, e.at);
  }
}
