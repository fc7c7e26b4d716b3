/**
 * A descriptor opened on a mount worker, shared by every worker (descriptors are per process).
 * close() first waits for the calls its callers still wait for (each settles within the deadline),
 * so a writer's fsync never comes after the caller moved on. The descriptor itself is closed only
 * when no call on it is left in the kernel: closing it under a stuck call would let a new open
 * reuse its number, and the late call could then act on another file.
 */
import { FsError } from "./errors.ts";
import type { CallMeta } from "./mount_calls.ts";
import type { MountOps, OpName } from "./mount_ops.ts";
import type { MountPool } from "./mount_pool.ts";

export class Descriptor {
  /** Calls not yet returned by their thread (also those whose caller gave up). */
  private inFlight = 0;
  /** Calls whose caller still waits. */
  private awaited = 0;
  private idle: (() => void)[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly pool: MountPool,
    readonly fd: number,
    readonly path: string,
    /** The op that closes it: "close", or "closeStream" with fsync for a writer. */
    private readonly closeOp: { op: "close" } | { op: "closeStream"; sync: boolean } = {
      op: "close",
    },
  ) {}

  /** Runs an op whose first argument is this descriptor; EBADF once closed. */
  call<K extends OpName>(
    op: K,
    args: Parameters<MountOps[K]>,
    meta: Omit<CallMeta, "path" | "done">,
  ): Promise<ReturnType<MountOps[K]>> {
    if (this.closed) return Promise.reject(new FsError("EBADF", meta.op, this.path));
    this.inFlight++;
    this.awaited++;
    const done = () => this.settled();
    return this.pool.call(op, args, { ...meta, path: this.path, done }).finally(() => {
      this.awaited--;
      if (this.awaited === 0) for (const wake of this.idle.splice(0)) wake();
    });
  }

  /**
   * Closes it once its callers' calls have settled: now, or (while a call is stuck in the kernel)
   * as soon as that call returns, and then it resolves at once. Idempotent: only the first call
   * can reject (the close itself timed out or failed).
   */
  async close(): Promise<void> {
    if (this.closed) return (this.closing ?? Promise.resolve()).catch(() => {});
    this.closed = true;
    if (this.awaited > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.inFlight === 0 && !this.closing) this.closing = this.closeNow();
    return this.closing ?? undefined;
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.closed && !this.closing) {
      this.closing = this.closeNow();
      this.closing.catch(() => {});
    }
  }

  private closeNow(): Promise<void> {
    const meta = { op: "close", path: this.path };
    return this.closeOp.op === "close"
      ? this.pool.call("close", [this.fd], meta)
      : this.pool.call("closeStream", [this.fd, this.closeOp.sync], meta);
  }
}
