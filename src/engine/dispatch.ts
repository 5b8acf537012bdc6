// The engine's request loop: validates each message from the service, runs the handler, and always
// answers — a malformed message or a throwing handler becomes an error reply, never a dead engine.
import { describeZodError, errorInfo, type BackendReport, type PrepareTask, type TrainEvent } from '../protocol/contract.ts';
import { abortable } from './queue.ts';
import { ToEngine, engineMethods, type EngineMethod, type EngineParams, type EngineResult, type FromEngine } from '../protocol/engine.ts';

export interface HandlerContext {
  /** Aborts when the service cancels this call (it timed out there): stop early where possible. */
  signal: AbortSignal;
  progress(done: number, total: number, label?: string): void;
  trainEvent(runId: string, event: TrainEvent): void;
  trainPrepare(runId: string, task: PrepareTask, done: number, total: number): void;
  /** The engine moved to another compute device ('auto' measured): what app.info reports from now on. */
  deviceChanged(report: BackendReport): void;
  /** This engine cannot go on (its wasm heap aborted, src/engine/fault.ts): the service replaces it. */
  fault(reason: string): void;
}

export type Handlers = { [M in EngineMethod]: (p: EngineParams<M>, ctx: HandlerContext) => Promise<EngineResult<M>> };

/**
 * `faultOf` tells a failure that leaves the engine unusable (why, or null); after replying to the call, the
 * dispatcher reports it as a fault.
 */
export function createDispatcher(post: (msg: FromEngine) => void, handlers: Handlers, faultOf: (e: unknown) => string | null = () => null): (raw: unknown) => Promise<void> {
  /** The calls in progress, by id, so that a 'cancel' can abort them. */
  const running = new Map<number, AbortController>();
  return async (raw) => {
    const msg = ToEngine.safeParse(raw);
    if (!msg.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      const error = { code: 'invalid_request' as const, message: `malformed engine message: ${describeZodError(msg.error)}` };
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) post({ type: 'error', id, error });
      else post({ type: 'log', level: 'warn', message: error.message });
      return;
    }
    if (msg.data.type === 'ping') {
      post({ type: 'pong', id: msg.data.id });
      return;
    }
    if (msg.data.type === 'cancel') {
      running.get(msg.data.id)?.abort();
      return;
    }
    const { id, method } = msg.data;
    const params = engineMethods[method].params.safeParse(msg.data.params);
    if (!params.success) {
      post({ type: 'error', id, error: { code: 'invalid_request', message: `${method}: ${describeZodError(params.error)}` } });
      return;
    }
    const controller = new AbortController();
    running.set(id, controller);
    const ctx: HandlerContext = {
      signal: controller.signal,
      progress: (done, total, label) => post({ type: 'progress', id, done, total, ...(label ? { label } : {}) }),
      trainEvent: (runId, event) => post({ type: 'train.event', runId, event }),
      trainPrepare: (runId, task, done, total) => post({ type: 'train.prepare', runId, task, done, total }),
      deviceChanged: (report) => post({ type: 'device', report }),
      fault: (reason) => post({ type: 'fault', reason }),
    };
    try {
      const handler = handlers[method] as (p: unknown, c: HandlerContext) => Promise<unknown>;
      // A cancelled call answers at once (the handler may go on until it notices; its result is dropped).
      post({ type: 'reply', id, ok: true, result: await abortable(handler(params.data, ctx), controller.signal, method) });
    } catch (e) {
      post({ type: 'error', id, error: errorInfo(e) });
      const fault = faultOf(e);
      if (fault) ctx.fault(fault);
    } finally {
      running.delete(id);
    }
  };
}
