// Inspection and evaluation calls run one at a time in the engine (they share the kept model). A call that
// was cancelled (its caller timed out, or gave up) must not hold the queue: the next call starts once the
// previous one settles OR is cancelled. A cancelled call that is still computing may finish later; its
// result is dropped by the dispatcher.

export class CancelledError extends Error {
  constructor(what = 'the request') {
    super(`${what} was cancelled`);
    this.name = 'CancelledError';
  }
}

/** Resolves or rejects as `p` does, or rejects with CancelledError as soon as `signal` aborts. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what?: string): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new CancelledError(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs `fn` after every earlier call has settled or been cancelled; `signal` cancels this one. */
export function serial<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const next = queue.then(() => {
    if (signal?.aborted) throw new CancelledError();
    return abortable(fn(), signal);
  });
  queue = next.catch(() => undefined);
  return next;
}
