// The service's handle on the engine: starts it on first use, pairs calls with replies, forwards
// training events and progress, and turns a crash into rejected calls plus a 'crashed' status. The next
// call after a crash starts a fresh engine, so the studio keeps working; an engine that is stuck or whose
// wasm heap aborted is replaced at once.
import { BackendChoice, BackendReport, StudioError, describeZodError, type EngineState } from '../protocol/contract.ts';
import {
  FromEngine,
  engineMethods,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type ToEngine,
} from '../protocol/engine.ts';
import type { PrepareTask, TrainEvent } from '../protocol/contract.ts';
import type { EngineExit, EngineProcess, SpawnEngine } from './engine-process.ts';

export type EngineEvent =
  | { kind: 'train.event'; runId: string; event: TrainEvent }
  | { kind: 'train.prepare'; runId: string; task: PrepareTask; done: number; total: number }
  | { kind: 'status'; state: EngineState; reason?: string; pid?: number }
  /** The engine died unexpectedly (not through close/restart). */
  | { kind: 'crashed'; reason: string };

export interface CallOptions {
  onProgress?: (done: number, total: number, label?: string) => void;
  /** Gives up on the call: it fails at once and the engine is told to cancel it. */
  signal?: AbortSignal;
  /** Overrides the method's timeout (ms without a reply or progress). */
  timeoutMs?: number;
}

interface Pending {
  method: EngineMethod;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: CallOptions['onProgress'];
  /** Restarts the call's timeout (progress shows it is alive). */
  touch: () => void;
  /** Clears the timer and the abort listener. */
  done: () => void;
}

/**
 * How long a call may go without a reply or a progress report before it fails and is cancelled. Generous:
 * the engine may be training at the same time, and a first inspection loads the model.
 */
export const CALL_TIMEOUTS_MS: Record<EngineMethod, number> = {
  init: 120_000,
  'train.start': 120_000,
  'train.control': 60_000,
  eval: 2 * 3600_000,
  predict: 180_000,
  attention: 180_000,
  receptiveField: 600_000,
  profile: 600_000,
  export: 600_000,
  // Each measured device reports progress; one device's warm-up step may compile shaders for minutes.
  measure: 600_000,
};

/** After a call times out, the engine must answer a ping within this long, or it is restarted. */
const PING_TIMEOUT_MS = 30_000;

export interface EngineOptions {
  timeoutsMs?: Partial<Record<EngineMethod, number>>;
  pingTimeoutMs?: number;
  /** The file of measured device speeds the engine reads and writes ('auto', the Measure button). */
  deviceCache?: string;
}

/** How long a fresh engine may take to say it is ready (tfjs and wasm load in it). */
const READY_TIMEOUT_MS = 60_000;

export function describeExit(e: EngineExit): string {
  const how = e.signal ? `was killed by ${e.signal}` : e.code !== null ? `exited with code ${e.code}` : 'could not start';
  const oom = /heap out of memory|Allocation failed|OOM/i.test(e.stderrTail) ? ' (out of memory)' : '';
  const last = e.stderrTail ? `: ${e.stderrTail.split('\n').pop()}` : '';
  return `the compute engine ${how}${oom}${last}`;
}

export class EngineHandle {
  state: EngineState = 'idle';
  backend: BackendReport | null = null;
  lastCrash: string | undefined;
  private proc: EngineProcess | null = null;
  private starting: Promise<EngineProcess> | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private listeners = new Set<(e: EngineEvent) => void>();
  private pings = new Map<number, () => void>();
  private checking: EngineProcess | null = null;

  constructor(
    private readonly spawn: SpawnEngine,
    private readonly backendChoice: () => BackendChoice,
    private readonly options: EngineOptions = {},
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  onEvent(cb: (e: EngineEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async call<M extends EngineMethod>(method: M, params: EngineParams<M>, opts: CallOptions = {}): Promise<EngineResult<M>> {
    const proc = await this.ensureStarted();
    return this.send(proc, method, params, opts);
  }

  /**
   * True when the engine answers a ping within `timeoutMs` (its event loop is free, even while it computes
   * between steps); false when it is stuck or not running.
   */
  ping(timeoutMs = this.options.pingTimeoutMs ?? PING_TIMEOUT_MS): Promise<boolean> {
    const proc = this.proc;
    if (!proc || this.starting) return Promise.resolve(false);
    return this.pingProcess(proc, timeoutMs);
  }

  private pingProcess(proc: EngineProcess, timeoutMs: number): Promise<boolean> {
    const id = this.nextId++;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        resolve(false);
      }, timeoutMs);
      this.pings.set(id, () => {
        clearTimeout(timer);
        this.pings.delete(id);
        resolve(true);
      });
      proc.send({ type: 'ping', id } satisfies ToEngine);
    });
  }

  /** The engine is gone unexpectedly (it died, or was killed for not answering): everything waiting on it fails. */
  private crashed(reason: string): void {
    this.proc = null;
    this.starting = null;
    this.lastCrash = reason;
    this.failPending(reason);
    this.setState('crashed', reason);
    this.emit({ kind: 'crashed', reason });
  }

  /**
   * After a call timed out: an engine that does not answer a ping is stuck (a native call that never returns,
   * an endless loop). It is killed and a fresh one started; the calls in flight fail, saying so.
   */
  private async checkResponsive(proc: EngineProcess): Promise<void> {
    if (this.proc !== proc || this.checking === proc) return;
    this.checking = proc;
    const timeoutMs = this.options.pingTimeoutMs ?? PING_TIMEOUT_MS;
    const alive = await this.pingProcess(proc, timeoutMs);
    if (this.checking === proc) this.checking = null;
    if (alive || this.proc !== proc) return;
    this.replace(proc, `the compute engine stopped answering (no reply to a ping within ${timeoutMs / 1000} s) and was restarted`);
  }

  /**
   * Kills an engine that cannot go on (stuck, or its wasm heap aborted) and starts a fresh one right away, so that
   * the studio keeps serving; the calls in flight fail, and app.info says why in lastCrash.
   */
  private replace(proc: EngineProcess, reason: string): void {
    if (this.proc !== proc) return;
    proc.kill();
    this.crashed(reason);
    this.ensureStarted().catch((e) => console.error(`engine host: the restarted engine did not start: ${(e as Error).message}`));
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

  private emit(e: EngineEvent): void {
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
    for (const p of all) p.done();
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
      const reason = describeExit(exit);
      readyReject(new StudioError('engine_crashed', reason));
      this.crashed(reason);
    });
    const timer = setTimeout(() => readyReject(new StudioError('engine_crashed', `the compute engine did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    try {
      await ready;
      const deviceCache = this.options.deviceCache;
      this.backend = await this.send(proc, 'init', { backend: this.backendChoice(), ...(deviceCache ? { deviceCache } : {}) }, {});
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
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutsMs?.[method] ?? CALL_TIMEOUTS_MS[method];
    return new Promise<EngineResult<M>>((resolve, reject) => {
      if (opts.signal?.aborted) return reject(new StudioError('failed', `${method} was cancelled`));
      let timer: NodeJS.Timeout | undefined;
      // Fails this call alone and tells the engine to drop it; the engine keeps serving the others.
      const giveUp = (message: string) => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        p.done();
        proc.send({ type: 'cancel', id } satisfies ToEngine);
        reject(new StudioError('failed', message));
      };
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          giveUp(`${method} did not finish within ${Math.round(timeoutMs / 100) / 10} s and was cancelled`);
          void this.checkResponsive(proc);
        }, timeoutMs);
      };
      const onAbort = () => giveUp(`${method} was cancelled`);
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress, touch, done });
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      touch();
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
      case 'train.prepare':
        this.emit({ kind: 'train.prepare', runId: msg.runId, task: msg.task, done: msg.done, total: msg.total });
        return;
      case 'log':
        (msg.level === 'info' ? console.log : console.error)(`engine: ${msg.message}`);
        return;
      case 'device':
        // 'auto' moved the engine to the device it measured fastest: app.info says so from now on.
        this.backend = msg.report;
        this.setState(this.state);
        return;
      case 'pong':
        this.pings.get(msg.id)?.();
        return;
      case 'fault':
        this.replace(proc, `the compute engine's ${msg.reason}; it was restarted`);
        return;
      case 'progress': {
        const p = this.pending.get(msg.id);
        p?.touch();
        p?.onProgress?.(msg.done, msg.total, msg.label);
        return;
      }
      case 'reply':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (!p) return; // a call that timed out or was cancelled: its late answer is dropped
        this.pending.delete(msg.id);
        p.done();
        if (msg.type === 'error') return p.reject(new StudioError(msg.error.code, msg.error.message, msg.error.details));
        const r = engineMethods[p.method].result.safeParse(msg.result);
        if (r.success) p.resolve(r.data);
        else p.reject(new StudioError('internal', `${p.method}: the engine sent a malformed result: ${describeZodError(r.error)}`));
      }
    }
  }
}
