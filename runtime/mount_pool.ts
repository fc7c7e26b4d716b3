/**
 * The pool of worker threads that makes every call on the shared mount (a hung mount never hangs
 * the node). Measured on ceph-fuse stopped with SIGSTOP: every call on the mount blocks in the
 * kernel; two such calls on Bun's own fs thread pool starve it (even local writes then time out),
 * and a synchronous FFI call on the main thread freezes the event loop. Here each call runs
 * synchronously on a worker thread, one call per thread at a time, with a deadline:
 *
 * - A call that misses its deadline rejects with MountUnavailableError (operation, path,
 *   deadline). Its thread cannot be killed while it is in the kernel, so it is *abandoned*: the
 *   pool stops counting it as live and starts a replacement on demand. The call itself may still
 *   complete later (a write, rename or setxattr lands late): callers must treat "timed out" as
 *   "unknown", never as "did not happen".
 * - Once `maxStuckThreads` threads are abandoned, every call fails fast with the same error
 *   (reason "stuck") and nothing more is started on the mount, so at most
 *   threads + maxStuckThreads - 1 threads ever exist.
 * - An abandoned thread that returns (the mount thawed) rejoins the pool (or exits if the pool is
 *   full); a descriptor its late call opened is closed.
 * - A long call (hash, copy, big read) reports progress, which restarts its deadline: the deadline
 *   bounds silence, not size. Long calls never take the last idle thread, so metadata calls are
 *   not queued behind them.
 *
 * The deadline runs from the moment a thread takes the call (time queued behind busy threads does
 * not count: a busy pool is not a hung mount). Idle threads are unref'd: the pool never keeps a
 * process alive. A process whose thread is stuck in the kernel cannot exit until the mount
 * answers (it stays a zombie): process.processState reports that.
 */

import type { FsErrorCode } from "./errors.ts";
import { FsError, MountUnavailableError, XattrError, XattrExistsError } from "./errors.ts";
import type { MountOps, OpName } from "./mount_ops.ts";
import type { WireError, WorkerReply, WorkerRequest } from "./mount_worker.ts";
import type { MountStatus } from "./types.ts";

/** One worker thread as the pool sees it (a Web Worker in Bun, node:worker_threads in Deno). */
export interface WorkerPort {
  post(message: WorkerRequest): void;
  onMessage(handler: (reply: WorkerReply) => void): void;
  onError(handler: (error: unknown) => void): void;
  ref(): void;
  unref(): void;
  terminate(): void;
}

export interface PoolOptions {
  /** Deadline of one call, ms. */
  timeoutMs: number;
  /** Abandoned threads at which calls fail fast. */
  maxStuckThreads: number;
  /** Threads serving calls (started on demand). */
  threads: number;
  spawn(): WorkerPort;
}

/** How a call reads in errors, and what the pool must know about it. */
export interface CallMeta {
  /** The operation as messages name it: "stat", "read", "rename"... (for xattrs: read, write...) */
  op: string;
  path: string;
  /** The attribute, for XattrError. */
  attr?: string;
  /** A long call (hash, copy, big read): it never takes the last idle thread. */
  bulk?: boolean;
  /**
   * Called once the call is over in its thread, or certain never to run: after its result, after
   * a late return, or on a fast failure. Not called for a call still stuck in the kernel.
   */
  done?: () => void;
}

type Result<K extends OpName> = ReturnType<MountOps[K]>;

interface Call {
  id: number;
  op: OpName;
  args: unknown[];
  meta: CallMeta;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
}

interface Slot {
  port: WorkerPort;
  /** The id of the call the main thread gave up on (read by the worker before it starts one). */
  abandonedId: Int32Array;
  ready: boolean;
  call: Call | null;
  abandoned: boolean;
}

/** Ops whose late result is a descriptor nobody will close: the pool closes it. */
const OPENS: Partial<Record<OpName, (value: unknown) => number>> = {
  open: (value) => (value as { fd: number }).fd,
  openRead: (value) => value as number,
  openWrite: (value) => value as number,
};

export function toError(error: WireError, meta: CallMeta): Error {
  if (error.kind === "xattr") {
    const code = error.code as FsErrorCode;
    const attr = meta.attr ?? error.attr;
    return code === "EEXIST"
      ? new XattrExistsError(code, meta.op, meta.path, attr)
      : new XattrError(code, meta.op, meta.path, attr);
  }
  if (error.kind === "fs") return new FsError(error.code as FsErrorCode, meta.op, meta.path);
  return new Error(`Unexpected error in ${meta.op} "${meta.path}": ${error.message}`);
}

export class MountPool {
  private readonly live = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly abandoned = new Set<Slot>();
  private readonly queue: Call[] = [];
  private starting = 0;
  private bulkBusy = 0;
  private nextId = 1;
  private lateReturns = 0;

  constructor(private readonly options: PoolOptions) {}

  /** Runs `op` on a worker thread within the deadline; see the module comment. */
  call<K extends OpName>(op: K, args: Parameters<MountOps[K]>, meta: CallMeta): Promise<Result<K>> {
    if (this.abandoned.size >= this.options.maxStuckThreads) {
      meta.done?.();
      return Promise.reject(this.stuckError(meta));
    }
    return new Promise<Result<K>>((resolve, reject) => {
      const id = this.nextId++;
      this.queue.push({ id, op, args, meta, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  status(): MountStatus {
    let busy = 0;
    for (const slot of this.live) if (slot.call) busy++;
    return {
      timeoutMs: this.options.timeoutMs,
      live: this.live.size,
      busy,
      abandoned: this.abandoned.size,
      maxStuckThreads: this.options.maxStuckThreads,
      queued: this.queue.length,
      lateReturns: this.lateReturns,
    };
  }

  private stuckError(meta: CallMeta): MountUnavailableError {
    return new MountUnavailableError(meta.op, meta.path, this.options.timeoutMs, "stuck");
  }

  private pump(): void {
    const { threads, maxStuckThreads } = this.options;
    while (this.queue.length > 0) {
      if (this.abandoned.size >= maxStuckThreads) {
        for (const call of this.queue.splice(0)) {
          call.meta.done?.();
          call.reject(this.stuckError(call.meta));
        }
        return;
      }
      const slot = this.idle.pop();
      if (!slot) {
        if (this.live.size < threads && this.starting < this.queue.length) this.spawn();
        return;
      }
      // Long calls leave one thread for everything else.
      const bulkAllowed = threads === 1 || this.bulkBusy < threads - 1;
      const index = this.queue.findIndex((c) => bulkAllowed || !c.meta.bulk);
      if (index < 0) {
        this.idle.push(slot);
        return;
      }
      const [call] = this.queue.splice(index, 1);
      if (call) this.dispatch(slot, call);
    }
  }

  private spawn(): void {
    const port = this.options.spawn();
    const slot: Slot = {
      port,
      abandonedId: new Int32Array(new SharedArrayBuffer(4)),
      ready: false,
      call: null,
      abandoned: false,
    };
    this.live.add(slot);
    this.starting++;
    port.onMessage((reply) => this.onReply(slot, reply));
    port.onError((error) => this.onWorkerError(slot, error));
    // Progress well within the deadline, so that a long call that moves is never cut.
    const progressMs = Math.max(1, Math.min(100, Math.floor(this.options.timeoutMs / 4)));
    port.post({ init: slot.abandonedId.buffer as SharedArrayBuffer, progressMs });
  }

  private dispatch(slot: Slot, call: Call): void {
    slot.call = call;
    if (call.meta.bulk) this.bulkBusy++;
    slot.port.ref();
    slot.port.post({ id: call.id, op: call.op, args: call.args });
    this.arm(slot, call);
  }

  private arm(slot: Slot, call: Call): void {
    clearTimeout(call.timer);
    call.timer = setTimeout(() => this.expire(slot, call), this.options.timeoutMs);
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if ("ready" in reply) {
      slot.ready = true;
      this.starting--;
      this.release(slot);
      return;
    }
    const call = slot.call;
    if (!call || call.id !== reply.id) return;
    if ("progress" in reply) {
      if (!slot.abandoned) this.arm(slot, call);
      return;
    }
    slot.call = null;
    if (slot.abandoned) {
      this.rejoin(slot, call, "ok" in reply && reply.ok ? reply.value : undefined);
      return;
    }
    clearTimeout(call.timer);
    if (call.meta.bulk) this.bulkBusy--;
    call.meta.done?.();
    if ("skipped" in reply) call.reject(new Error(`Internal: ${call.op} skipped while awaited`));
    else if (reply.ok) call.resolve(reply.value);
    else call.reject(toError(reply.error, call.meta));
    this.release(slot);
  }

  /** An idle thread waits unref'd (it never keeps the process alive), then takes queued work. */
  private release(slot: Slot): void {
    slot.port.unref();
    this.idle.push(slot);
    this.pump();
  }

  /** The call missed its deadline: reject it and give up on its thread. */
  private expire(slot: Slot, call: Call): void {
    if (slot.call !== call || slot.abandoned) return;
    slot.abandoned = true;
    Atomics.store(slot.abandonedId, 0, call.id);
    this.live.delete(slot);
    this.abandoned.add(slot);
    if (call.meta.bulk) this.bulkBusy--;
    // Unref'd: a thread stuck in the kernel must not keep the event loop waiting for it.
    slot.port.unref();
    call.reject(
      new MountUnavailableError(call.meta.op, call.meta.path, this.options.timeoutMs, "deadline"),
    );
    this.pump();
  }

  /** An abandoned thread came back (the mount answered): it serves again, or exits. */
  private rejoin(slot: Slot, call: Call, value: unknown): void {
    this.abandoned.delete(slot);
    this.lateReturns++;
    slot.abandoned = false;
    call.meta.done?.();
    const opened = OPENS[call.op];
    if (opened && value !== undefined) {
      // Nobody holds the descriptor that the late open returned: close it.
      const fd = opened(value);
      this.call("close", [fd], { op: "close", path: call.meta.path }).catch(() => {});
    }
    if (this.live.size < this.options.threads) {
      this.live.add(slot);
      this.release(slot);
    } else {
      slot.port.terminate();
      this.pump();
    }
  }

  private onWorkerError(slot: Slot, error: unknown): void {
    const wasLive = this.live.delete(slot);
    this.abandoned.delete(slot);
    const at = this.idle.indexOf(slot);
    if (at >= 0) this.idle.splice(at, 1);
    slot.port.terminate();
    const detail = error instanceof Error ? error.message : String(error);
    const call = slot.call;
    slot.call = null;
    if (call) {
      clearTimeout(call.timer);
      if (call.meta.bulk && wasLive) this.bulkBusy--;
      call.meta.done?.();
      call.reject(
        new Error(`A mount worker failed in ${call.meta.op} "${call.meta.path}": ${detail}`),
      );
    }
    if (!slot.ready) {
      // It never started (a broken install): fail what waits instead of respawning forever.
      this.starting--;
      for (const queued of this.queue.splice(0)) {
        queued.meta.done?.();
        queued.reject(new Error(`A mount worker could not start: ${detail}`));
      }
      return;
    }
    this.pump();
  }
}
