// The service's handle on the engine: starts it on first use, pairs calls with replies, forwards
// training events and progress, and turns a crash into rejected calls plus a 'crashed' status. The next
// call after a crash starts a fresh engine, so the studio keeps working.
import { BackendChoice, BackendReport, StudioError, describeZodError, type EngineState } from '../protocol/contract.ts';
import {
  FromEngine,
  engineMethods,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type ToEngine,
} from '../protocol/engine.ts';
import type { TrainEvent } from '../protocol/contract.ts';
import type { EngineExit, EngineProcess, SpawnEngine } from './process.ts';

export type HostEvent =
  | { kind: 'train.event'; runId: string; event: TrainEvent }
  | { kind: 'train.ended'; runId: string; status: 'finished' | 'stopped' | 'paused' | 'failed'; error: string | null }
  | { kind: 'status'; state: EngineState; reason?: string; pid?: number }
  /** The engine died unexpectedly (not through close/restart). */
  | { kind: 'crashed'; reason: string };

export interface CallOptions {
  onProgress?: (done: number, total: number, label?: string) => void;
}

interface Pending {
  method: EngineMethod;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: CallOptions['onProgress'];
}

/** How long a fresh engine may take to say it is ready (tfjs and wasm load in it). */
const READY_TIMEOUT_MS = 60_000;

export function describeExit(e: EngineExit): string {
  const how = e.signal ? `was killed by ${e.signal}` : e.code !== null ? `exited with code ${e.code}` : 'could not start';
  const oom = /heap out of memory|Allocation failed|OOM/i.test(e.stderrTail) ? ' (out of memory)' : '';
  const last = e.stderrTail ? `: ${e.stderrTail.split('\n').pop()}` : '';
  return `the compute engine ${how}${oom}${last}`;
}

export class EngineHost {
  state: EngineState = 'idle';
  backend: BackendReport | null = null;
  lastCrash: string | undefined;
  private proc: EngineProcess | null = null;
  private starting: Promise<EngineProcess> | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private listeners = new Set<(e: HostEvent) => void>();

  constructor(
    private readonly spawn: SpawnEngine,
    private readonly backendChoice: () => BackendChoice,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  onEvent(cb: (e: HostEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async call<M extends EngineMethod>(method: M, params: EngineParams<M>, opts: CallOptions = {}): Promise<EngineResult<M>> {
    const proc = await this.ensureStarted();
    return this.send(proc, method, params, opts);
  }

  /** Kills the engine (if running) and starts a fresh one with the current backend setting. */
  async restart(): Promise<void> {
    this.stop('restarting');
    await this.ensureStarted();
  }

  /** Stops the engine; calls in flight fail with 'engine_crashed'. */
  close(): void {
    this.stop('the studio is closing');
    this.setState('stopped');
  }

  private stop(reason: string): void {
    const proc = this.proc;
    this.proc = null;
    this.starting = null;
    if (proc) {
      this.failPending(`${reason}: the engine was stopped`);
      proc.kill();
    }
  }

  private emit(e: HostEvent): void {
    for (const cb of this.listeners) {
      try {
        cb(e);
      } catch (err) {
        console.error('engine host: a listener threw', err);
      }
    }
  }

  private setState(state: EngineState, reason?: string): void {
    this.state = state;
    this.emit({ kind: 'status', state, ...(reason ? { reason } : {}), ...(this.proc?.pid ? { pid: this.proc.pid } : {}) });
  }

  private failPending(reason: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new StudioError('engine_crashed', `${p.method}: ${reason}`));
  }

  private ensureStarted(): Promise<EngineProcess> {
    if (this.proc && !this.starting) return Promise.resolve(this.proc);
    if (!this.starting) this.starting = this.start();
    return this.starting;
  }

  private async start(): Promise<EngineProcess> {
    this.setState('starting');
    const proc = this.spawn();
    this.proc = proc;
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => ((readyResolve = res), (readyReject = rej)));
    proc.onMessage((raw) => this.receive(proc, raw, readyResolve));
    proc.onExit((exit) => {
      if (this.proc !== proc) return; // stopped on purpose: already handled
      this.proc = null;
      this.starting = null;
      const reason = describeExit(exit);
      this.lastCrash = reason;
      readyReject(new StudioError('engine_crashed', reason));
      this.failPending(reason);
      this.setState('crashed', reason);
      this.emit({ kind: 'crashed', reason });
    });
    const timer = setTimeout(() => readyReject(new StudioError('engine_crashed', `the compute engine did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    try {
      await ready;
      this.backend = await this.send(proc, 'init', { backend: this.backendChoice() }, {});
    } catch (e) {
      if (this.proc === proc) {
        // Started but unusable (e.g. the backend failed to load): do not leave it half-alive.
        this.proc = null;
        proc.kill();
        this.lastCrash = (e as Error).message;
        this.setState('crashed', this.lastCrash);
      }
      this.starting = null;
      throw e;
    } finally {
      clearTimeout(timer);
    }
    this.starting = null;
    this.setState('ready');
    return proc;
  }

  private send<M extends EngineMethod>(proc: EngineProcess, method: M, params: EngineParams<M>, opts: CallOptions): Promise<EngineResult<M>> {
    const id = this.nextId++;
    return new Promise<EngineResult<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress });
      const msg: ToEngine = { type: 'call', id, method, params };
      proc.send(msg);
    });
  }

  private receive(proc: EngineProcess, raw: unknown, ready: () => void): void {
    if (this.proc !== proc) return;
    const parsed = FromEngine.safeParse(raw);
    if (!parsed.success) {
      console.error(`engine host: dropped a malformed engine message: ${describeZodError(parsed.error)}`);
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'ready':
        ready();
        return;
      case 'train.event':
        this.emit({ kind: 'train.event', runId: msg.runId, event: msg.event });
        return;
      case 'train.ended':
        this.emit({ kind: 'train.ended', runId: msg.runId, status: msg.status, error: msg.error });
        return;
      case 'log':
        (msg.level === 'info' ? console.log : console.error)(`engine: ${msg.message}`);
        return;
      case 'progress':
        this.pending.get(msg.id)?.onProgress?.(msg.done, msg.total, msg.label);
        return;
      case 'reply':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.type === 'error') return p.reject(new StudioError(msg.error.code, msg.error.message, msg.error.details));
        const r = engineMethods[p.method].result.safeParse(msg.result);
        if (r.success) p.resolve(r.data);
        else p.reject(new StudioError('internal', `${p.method}: the engine sent a malformed result: ${describeZodError(r.error)}`));
      }
    }
  }
}
