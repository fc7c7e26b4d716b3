/** Time helpers, written once: a deadline over a promise, and a sleep that a signal cuts short. */

/** What `deadline` rejects with when no `onTimeout` is given. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
  constructor(readonly ms: number) {
    super(`did not answer within ${ms} ms`);
  }
}

/**
 * Settles like `work`, or rejects after `ms` with `onTimeout()` (a DeadlineError by default).
 * The work itself is not cancelled (a stat stuck in a hung mount stays stuck): the caller stops
 * waiting for it. The timer is always cleared, so a deadline never keeps a process alive.
 */
export async function deadline<T>(
  work: Promise<T>,
  ms: number,
  options: { onTimeout?: () => Error } = {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(options.onTimeout?.() ?? new DeadlineError(ms)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks
 * `signal.aborted`). Its abort listener is removed when the time is up, so a loop that sleeps
 * every tick does not pile up listeners on a long-lived signal.
 */
export function delay(ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A grace signal and its release (see graceSignal). */
export interface Grace {
  signal: AbortSignal | undefined;
  /** Takes the listener off the stop signal (and clears a grace timer): call when the work ends. */
  release(): void;
}

/**
 * A signal that aborts `graceMs` after `stop` does (graceful stop: work in flight may finish
 * within the grace). Undefined without a stop signal. The grace timer never keeps a process alive
 * (unref), so a process whose work finished exits at once. `stop` lives as long as the process
 * and this is made once per task: `release` when the task ends, or `run --once` over 2,000 tasks
 * keeps 2,000 listeners, each holding its controller (issue 2.5).
 */
export function graceSignal(stop: AbortSignal | undefined, graceMs: number): Grace {
  if (!stop) return { signal: undefined, release: () => {} };
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const start = () => {
    timer = setTimeout(() => controller.abort(stop.reason), graceMs);
    (timer as { unref?: () => void }).unref?.();
  };
  if (stop.aborted) start();
  else stop.addEventListener("abort", start, { once: true });
  const release = () => {
    stop.removeEventListener("abort", start);
    clearTimeout(timer);
  };
  return { signal: controller.signal, release };
}
