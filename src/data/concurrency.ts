// Bounded parallelism for sharp work. sharp runs each job on libuv's thread pool (4 threads by default), so a
// few jobs in flight keep every core busy while the JS thread stays free; more only queue up and hold memory.

export const DEFAULT_CONCURRENCY = 4;

/** Runs `fn` on every item with at most `limit` calls in flight; resolves once all have settled. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failed = false; // after the first error the other workers stop taking items
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      signal?.throwIfAborted();
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
}
