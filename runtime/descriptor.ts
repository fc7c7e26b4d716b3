/**
 * A descriptor opened on a mount worker, shared by every worker (descriptors are per process).
 * It is closed only when no call on it is in flight: closing it under a call stuck in the kernel
 * would let a new open reuse its number, and a late call could then act on another file.
 */
import { FsError } from "./errors.ts";
import type { MountOps, OpName } from "./mount_ops.ts";
import type { CallMeta, MountPool } from "./mount_pool.ts";

export class Descriptor {
  private inFlight = 0;
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
    return this.pool.call(op, args, { ...meta, path: this.path, done: () => this.settled() });
  }

  /**
   * Closes it now, or as soon as the calls in flight return (then it resolves at once).
   * Idempotent: only the first call can reject (the close itself timed out or failed).
   */
  close(): Promise<void> {
    if (this.closed) return (this.closing ?? Promise.resolve()).catch(() => {});
    this.closed = true;
    if (this.inFlight === 0) this.closing = this.closeNow();
    return this.closing ?? Promise.resolve();
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
