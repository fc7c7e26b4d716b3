/**
 * Bounds the bytes of file content held in memory for uploads: every buffered body takes its
 * bytes from here, and every streamed one its fixed share (s3_body.ts). Without a bound, 8 files x 4
 * parts x 16 MiB were in flight at once and garbage collection lagged behind (W2 peaked at 1,692
 * MiB RSS: bench/results/2026-11-25-before-buffer-budget.md). Large buffers are reused, so the
 * heap stays at the budget.
 */

/** Buffers smaller than this are plain allocations: cheap, and collected fast. */
const POOLED_MIN = 1 << 20;

/** A reservation waiting for its bytes. */
interface Waiter {
  bytes: number;
  grant: () => void;
}

export class BufferBudget {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];
  private readonly free = new Map<number, Uint8Array[]>();

  constructor(private readonly maxBytes: number) {}

  /** Waits until `size` bytes fit in the budget (one oversized buffer may always proceed alone). */
  async acquire(size: number): Promise<Uint8Array> {
    const capacity = size >= POOLED_MIN ? 2 ** Math.ceil(Math.log2(size)) : size;
    await this.reserve(capacity);
    const reused = this.free.get(capacity)?.pop();
    const buffer = reused ?? new Uint8Array(capacity);
    return buffer.subarray(0, size);
  }

  /** Returns a buffer from `acquire`; it must no longer be in use by any request. */
  release(view: Uint8Array): void {
    const capacity = view.buffer.byteLength;
    if (capacity >= POOLED_MIN) {
      const list = this.free.get(capacity) ?? [];
      // Keep at most what the budget could hold; drop the rest for the collector.
      if ((list.length + 1) * capacity <= this.maxBytes) list.push(new Uint8Array(view.buffer));
      this.free.set(capacity, list);
    }
    this.unreserve(capacity);
  }

  /**
   * Counts `bytes` against the budget without a buffer (a streamed request's share). `signal`:
   * a wait that it aborts throws its reason, nothing reserved. First come, first served: a
   * reservation that does not fit waits, and later ones wait behind it even when they would fit
   * (a large restore's chunks are not overtaken forever by a stream of small files). So a caller
   * never reserves while it holds a reservation: it would wait behind the queue, and the queue
   * behind it.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.inUse += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        },
      };
      const abort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return; // granted already
        this.waiters.splice(at, 1);
        reject(signal?.reason);
        this.grantWaiting(); // the ones behind it may fit now
      };
      this.waiters.push(waiter);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  unreserve(bytes: number): void {
    this.inUse -= bytes;
    this.grantWaiting();
  }

  /** Fits in what is left, or is alone (one oversized buffer may always proceed). */
  private fits(bytes: number): boolean {
    return this.inUse === 0 || this.inUse + bytes <= this.maxBytes;
  }

  /** Grants the waiting reservations in their order while the first of them fits. */
  private grantWaiting(): void {
    while (this.waiters.length > 0) {
      const first = this.waiters[0] as Waiter;
      if (!this.fits(first.bytes)) return;
      this.waiters.shift();
      this.inUse += first.bytes;
      first.grant();
    }
  }
}
