// Read-ahead for batch loaders: while the consumer computes on one batch, the next ones are being prepared
// (their sharp work runs on the thread pool, off the JS thread), so waiting for data stays short.

/**
 * Yields `make(0) … make(count - 1)` in order, keeping up to `depth` of them in flight while the consumer holds
 * the current one. A failure surfaces when its item is reached. Stopping early leaves in-flight items to finish
 * unobserved.
 */
export async function* prefetched<T>(count: number, make: (i: number) => Promise<T>, depth = 2): AsyncGenerator<T> {
  const ahead = Math.max(1, Math.floor(depth));
  const pending: Promise<T>[] = [];
  let next = 0;
  const fill = (): void => {
    while (pending.length < ahead && next < count) {
      const p = make(next++);
      p.catch(() => {}); // observed when awaited below; this only keeps an early stop from reporting it as unhandled
      pending.push(p);
    }
  };
  fill();
  while (pending.length > 0) {
    const item = await pending.shift()!;
    fill();
    yield item;
  }
}
