// The engine's side of a compute device: where the tensor work of a run or an inspection happens. The engine
// keeps everything that touches files (dataset, decoding, augmentation, run folder, checkpoints, events) and
// sends the device pixel batches, weights and optimizer state as typed arrays (wire.ts). Two kinds:
// - LocalDevice: the kernel in this process, on the backend src/backend chose (tfjs-node, wasm, cpu);
// - ChannelDevice: the kernel elsewhere (a Chromium page: chromium.ts, Electron's hidden window), over a
//   message channel; a channel that closes under a call fails it with DeviceLostError.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/model.ts';
import { processCpuMs } from '../util/cpu-clock.ts';
import { DeviceKernel } from './kernel.ts';
import type { DeviceCall, DeviceInfo, DeviceReply, DeviceRequest, DeviceResults } from './wire.ts';

export interface ComputeDevice {
  readonly info: DeviceInfo;
  call<R extends DeviceRequest>(req: R): Promise<DeviceResults[R['op']]>;
  /** The model object itself when the tensors live in this process (evaluation on every core, tests); else null. */
  localModel(): Model | null;
  close(): Promise<void>;
  /**
   * How many calls so far could have changed the model the device holds (every op but READ_ONLY_OPS, however it
   * ended): while the count stays put, the device holds what the call that made it left (device/resident.ts).
   * Absent where a device does not count; its model is then sent again whenever it is needed.
   */
  readonly modelChanges?: number;
}

/** Ops that leave the device's model and weights as they were; any other (open, step, close, one added later) may change them. */
const READ_ONLY_OPS: ReadonlySet<DeviceRequest['op']> = new Set(['info', 'logits', 'features', 'weights', 'trainer-state', 'attention', 'receptive-field', 'profile']);

/** The device went away under a call: the page or browser crashed or was killed, or the GPU was reset. */
export class DeviceLostError extends Error {}

/** In-process backends whose work is this process's main thread alone, so its CPU time measures that work. */
const SINGLE_THREADED = new Set(['wasm', 'cpu']);

/** Whether `device` can time with the process's CPU clock (profile --clock cpu): in-process and single-threaded. */
export function hasCpuClock(device: ComputeDevice): boolean {
  return device instanceof LocalDevice && SINGLE_THREADED.has(device.info.tfBackend);
}

export class LocalDevice implements ComputeDevice {
  readonly info: DeviceInfo;
  private readonly kernel: DeviceKernel;
  private changes = 0;

  /** `name`: the studio's name for the backend this process runs (src/backend's report). */
  constructor(name: string) {
    this.info = { name, tfBackend: tf.getBackend(), host: 'this process', adapter: null, software: false };
    this.kernel = new DeviceKernel(() => this.info, SINGLE_THREADED.has(this.info.tfBackend) ? processCpuMs : undefined);
  }

  call<R extends DeviceRequest>(req: R): Promise<DeviceResults[R['op']]> {
    if (!READ_ONLY_OPS.has(req.op)) this.changes++;
    return this.kernel.handle(req);
  }

  localModel(): Model | null {
    return this.kernel.current;
  }

  get modelChanges(): number {
    return this.changes;
  }

  async close(): Promise<void> {
    this.changes++;
    await this.kernel.handle({ op: 'close' });
  }
}

/** Both ends of a message channel, whatever carries it (a WebSocket with frames, a MessagePort). */
export interface DeviceChannel {
  send(call: DeviceCall): void;
  /** Replies, in any order. */
  onReply(fn: (reply: DeviceReply) => void): void;
  /** Called once when the channel closes, with why. */
  onClose(fn: (why: string) => void): void;
  close(): void;
}

export class ChannelDevice implements ComputeDevice {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: string }>();
  private lostReason: string | null = null;
  private changes = 0;

  /** `release` frees what hosts the page (the browser, the window, the server) once the channel is closed. */
  constructor(readonly info: DeviceInfo, private readonly channel: DeviceChannel, private readonly release: () => Promise<void>) {
    channel.onReply((reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error));
    });
    channel.onClose((why) => {
      this.lostReason = why;
      for (const p of this.pending.values()) p.reject(this.lostError(p.op));
      this.pending.clear();
    });
  }

  private lostError(op: string): DeviceLostError {
    return new DeviceLostError(`the ${this.info.name} device (${this.info.host}) was lost during ${op}: ${this.lostReason}`);
  }

  call<R extends DeviceRequest>(req: R): Promise<DeviceResults[R['op']]> {
    if (!READ_ONLY_OPS.has(req.op)) this.changes++;
    if (this.lostReason !== null) return Promise.reject(this.lostError(req.op));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op: req.op });
      this.channel.send({ ...req, id });
    });
  }

  localModel(): null {
    return null;
  }

  get modelChanges(): number {
    return this.changes;
  }

  /** Whether the channel is gone (the device cannot answer any more). */
  get lost(): boolean {
    return this.lostReason !== null;
  }

  async close(): Promise<void> {
    if (this.lostReason === null) {
      await this.call({ op: 'close' }).catch(() => undefined);
      this.lostReason = 'closed by the engine';
      this.channel.close();
    }
    await this.release();
  }
}
