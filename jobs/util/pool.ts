/** Bounded concurrency helpers: the number of files (or parts) in flight is an option. */

/** Maps `items` with at most `limit` calls in flight; rejects with the first error. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker() {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s) => s.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  return results;
}

/**
 * Consumes an async stream with at most `limit` handlers in flight, so a task of a million
 * entries is never read ahead by more than `limit`. Every handler is awaited before returning or
 * throwing, also when the stream itself throws (an over-long or non-UTF-8 task line): the caller
 * never moves on while uploads still run. The stream's error wins over a handler's.
 */
export async function forEachLimit<T>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown = null;
  try {
    for await (const item of items) {
      if (firstError) break;
      const p: Promise<void> = fn(item)
        .catch((err) => {
          firstError ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
  if (firstError) throw firstError;
}
