// What crosses between the engine and a compute device (src/device/kernel.ts, wherever it runs: this
// process, a Chromium page, a worker), and its binary framing for transports without structured clone
// (a WebSocket). Free of tfjs and of Node, so both ends bundle it.
//
// Pixels, labels, weights and optimizer state cross as typed arrays, weights under timm keys in PyTorch
// layout (the checkpoint's own form), so a checkpoint written from one device resumes on another.
import type { TensorMap } from '../model/safetensors.ts';
import type { NetworkName } from '../model/registry/index.ts';
import type { AttentionCapture } from '../inspect/capture.ts';
import type { ReceptiveField } from '../inspect/receptive-field.ts';
import type { ProfileResult } from '../protocol/contract.ts';
import type { BatchShare, StepResult, TrainerSettings, TrainerStateJson } from '../optim/trainer.ts';
import type { ExchangeSpec } from './exchange.ts';

/** What the device is: its TensorFlow.js backend and, for a GPU backend, the adapter it got. */
export interface DeviceInfo {
  /** The studio's name for it: an in-process backend (wasm, cpu, tensorflow…) or a page one (webgpu, webgl, wasm-threads). */
  name: string;
  /** tf.getBackend() on the device. */
  tfBackend: string;
  /** Where the tensors live, in a user's words: "this process", "headless Chromium 156", "hidden window". */
  host: string;
  /** The GPU adapter (webgpu / webgl) or CPU threads (wasm), in a user's words. */
  adapter: string | null;
  /** A software adapter (SwiftShader, a fallback adapter): correct but slow; never picked over a CPU path. */
  software: boolean;
  threads?: number;
  /** Model replicas that each compute a share of a batch (wasm-workers: one per worker thread); else 1. */
  workers?: number;
}

/** A classifier, or a segmentation or detection network (numClasses counting the background). */
export interface ModelSpec { variant: NetworkName; numClasses: number }

export interface TrainSpec {
  settings: TrainerSettings;
  /** A detector's quick run: the backbone frozen in inference mode, only the extra layers and heads train. */
  quick?: boolean;
  /** Optimizer moments and EMA weights to continue from (a checkpoint's state); `source` names it in errors. */
  state?: { tensors: TensorMap; json: TrainerStateJson; source?: string };
}

export type Weights = 'live' | 'averaged';
export type Shape4 = [number, number, number, number];

export type DeviceRequest =
  | { op: 'info' }
  /** Builds the model from `weights` (every key, timm layout) and, with `train`, its trainer. */
  | { op: 'open'; model: ModelSpec; weights: TensorMap; train?: TrainSpec }
  /**
   * One optimizer step on n images [n, size, size, 3] and their labels (the same count per image: a class, a
   * label map of size × size pixels, or a detector's packed anchor targets). Dropout seeds derive from (seed,
   * step) exactly as in the engine (util/random.ts stepSeeds). imagesPerPass null: the whole batch in one pass.
   */
  | { op: 'step'; x: Float32Array; size: number; labels: Int32Array; lr: number; seed: number; step: number; frozen: boolean; imagesPerPass: number | null }
  /**
   * A step split across the worker threads of one process (parallel.ts): the forward and backward passes of this
   * worker's share of the batch (images [n, size, size, 3]: passes share.firstPass, … of the step, dropout seeded
   * as in 'step'; none where exchange.worker has no share, x and labels then empty), then the shares' gradients
   * summed and their BatchNorm statistics combined by the workers in shared memory (exchange.ts) and applied by
   * every replica alike.
   */
  | { op: 'share-step'; x: Float32Array; size: number; labels: Int32Array; lr: number; seed: number; step: number; share: BatchShare; exchange: ExchangeSpec }
  /**
   * Inference-mode output of images [n, h, w, 3], with the live or the EMA-averaged weights: a classifier's logits
   * [n, classes], a segmentation network's [n, h/16, w/16, classes], a detector's deltas and logits [n, anchors, 4 + classes].
   */
  | { op: 'logits'; x: Float32Array; shape: Shape4; weights: Weights }
  /** Inference-mode pooled features [n, features] of images [n, h, w, 3]. */
  | { op: 'features'; x: Float32Array; shape: Shape4 }
  | { op: 'weights'; weights: Weights }
  | { op: 'trainer-state' }
  /** Probabilities and attention of the MobileViT blocks `only` (all: null) for images [n, h, w, 3] (inspect/capture.ts). */
  | { op: 'attention'; x: Float32Array; shape: Shape4; only: number[] | null }
  /** Effective receptive fields after the spatial blocks `blocks` (indices into spatialBlocks; all: null). */
  | { op: 'receptive-field'; x: Float32Array; shape: Shape4; blocks: number[] | null; location: [number, number] | null }
  /** Per-block latency of forward passes (inspect/profile.ts), timed where the tensors live. */
  | { op: 'profile'; options: DeviceProfileOptions }
  | { op: 'close' };

/** The images of a step or a share of one: its pixels' count over one image's (its labels may be many per image). */
export function imagesIn(req: { x: Float32Array; size: number }): number {
  const n = req.x.length / (req.size * req.size * 3);
  if (!Number.isInteger(n) || n < 1) throw new Error(`training step: ${req.x.length} pixel values are not whole images of ${req.size}×${req.size}×3`);
  return n;
}

export interface DeviceProfileOptions {
  imageSize?: number; batch?: number; runs?: number; warmup?: number; seed?: number;
  /** 'cpu': the process's CPU time (in-process single-threaded backends only: other processes' load then drops out). */
  clock?: 'wall' | 'cpu';
}

/** One call's answer; `id` pairs it with its request. */
export type DeviceReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
export type DeviceCall = DeviceRequest & { id: number };

export interface DeviceResults {
  info: DeviceInfo;
  open: null;
  step: StepResult;
  /** This worker's share's loss and hits (null: it had none) and the step's global gradient norm before clipping. */
  'share-step': { share: { loss: number; correct: number; counted?: number } | null; gradNorm: number };
  logits: Float32Array;
  features: Float32Array;
  weights: TensorMap;
  'trainer-state': { tensors: TensorMap; json: TrainerStateJson };
  attention: AttentionCapture;
  'receptive-field': ReceptiveField[];
  profile: ProfileResult;
  close: null;
}

// ---- Binary framing: [u32 header length][header JSON][buffers, each 8-aligned] ----
// The header is {m: message, b: [[offset, bytes], …]}, with every typed array of the message replaced by
// {"$b": index, "t": type}, every Map by {"$m": entries} and every non-finite number by {"$n": "NaN"} (JSON
// has none, and a diverged step's loss is NaN: it must arrive as NaN, not null).

const ARRAYS = { f32: Float32Array, i32: Int32Array, u8: Uint8Array } as const;
type ArrayTag = keyof typeof ARRAYS;

function tagOf(v: unknown): ArrayTag | null {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint8Array) return 'u8';
  return null;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8; // not bitwise: offsets may pass 2^31
const MARKERS = ['$b', '$m', '$n'];
const NON_FINITE: Record<string, number> = { NaN, Infinity, '-Infinity': -Infinity };

/** A message as one ArrayBuffer (typed arrays copied once, no base64). */
export function encodeFrame(message: unknown): ArrayBuffer {
  const buffers: Uint8Array[] = [];
  const body = JSON.stringify(message, function (this: unknown, key, value) {
    const raw = (this as Record<string, unknown>)[key]; // before toJSON (typed arrays have none, but be exact)
    const tag = tagOf(raw);
    if (tag) {
      const a = raw as Float32Array | Int32Array | Uint8Array;
      buffers.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return { $b: buffers.length - 1, t: tag };
    }
    if (raw instanceof Map) return { $m: [...raw] };
    if (typeof raw === 'number' && !Number.isFinite(raw)) return { $n: String(raw) };
    // Anything else binary would arrive as an object of indices, and a marker key would be read as a marker.
    if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer) throw new TypeError(`device frame: cannot carry ${Object.prototype.toString.call(raw)} at "${key}" (only Float32Array, Int32Array, Uint8Array)`);
    if (value && typeof value === 'object' && !Array.isArray(value) && MARKERS.some((m) => Object.hasOwn(value, m))) {
      throw new TypeError(`device frame: an object at "${key}" has a key reserved for the framing (${MARKERS.join(', ')})`);
    }
    return value;
  });
  // Offsets depend on the header's length, which depends on the offsets' digits: place buffers after a
  // header padded to a bound that the final header cannot exceed.
  const table = (base: number) => {
    let at = base;
    return buffers.map((b) => { const entry = [at, b.byteLength]; at = align8(at + b.byteLength); return entry; });
  };
  const encoder = new TextEncoder();
  const bound = align8(4 + encoder.encode(`{"m":${body},"b":${JSON.stringify(table(1e15))}}`).length);
  const offsets = table(bound);
  const head = encoder.encode(`{"m":${body},"b":${JSON.stringify(offsets)}}`);
  const total = offsets.length ? offsets[offsets.length - 1][0] + offsets[offsets.length - 1][1] : bound;
  const out = new Uint8Array(align8(total));
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  buffers.forEach((b, i) => out.set(b, offsets[i][0]));
  return out.buffer;
}

export class FrameError extends Error {}

/** The message of a frame; its typed arrays are views into `frame` (no copy). Throws FrameError on a malformed frame. */
export function decodeFrame(frame: ArrayBuffer): unknown {
  const fail = (why: string) => new FrameError(`device frame of ${frame.byteLength} bytes: ${why}`);
  if (frame.byteLength < 4) throw fail('shorter than its header length');
  const headLength = new DataView(frame).getUint32(0, true);
  if (4 + headLength > frame.byteLength) throw fail(`its header claims ${headLength} bytes`);
  let header: { m?: unknown; b?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(frame, 4, headLength)));
  } catch (e) {
    throw fail(`the header is not JSON (${(e as Error).message})`);
  }
  const table = header?.b;
  if (!Array.isArray(table)) throw fail('the header has no buffer table');
  if (!('m' in header)) throw fail('the header has no message');
  const view = (index: unknown, tag: unknown): ArrayLike<number> => {
    const entry = typeof index === 'number' ? table[index] : undefined;
    if (!(typeof tag === 'string' && Object.hasOwn(ARRAYS, tag))) throw fail(`unknown array type ${JSON.stringify(tag)}`);
    const Type = ARRAYS[tag as ArrayTag];
    const [at, bytes] = Array.isArray(entry) ? entry : [];
    if (!Number.isInteger(at) || !Number.isInteger(bytes) || at < 4 + headLength || at % 8 !== 0 || bytes < 0
      || bytes % Type.BYTES_PER_ELEMENT !== 0 || at + bytes > frame.byteLength) {
      throw fail(`buffer ${JSON.stringify(index)} lies outside the frame`);
    }
    return new Type(frame, at, bytes / Type.BYTES_PER_ELEMENT);
  };
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if ('$b' in o) return view(o.$b, o.t);
    if ('$n' in o) {
      if (typeof o.$n !== 'string' || !Object.hasOwn(NON_FINITE, o.$n)) throw fail(`unknown number ${JSON.stringify(o.$n)}`);
      return NON_FINITE[o.$n];
    }
    if ('$m' in o) {
      if (!Array.isArray(o.$m)) throw fail('a map without entries');
      return new Map(o.$m.map((e) => {
        if (!Array.isArray(e) || e.length !== 2) throw fail('a map entry is not a pair');
        return [revive(e[0]), revive(e[1])] as [unknown, unknown];
      }));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
  };
  try {
    return revive(header.m);
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw fail(`the message cannot be read (${(e as Error).message})`); // e.g. nested too deep for the stack
  }
}
