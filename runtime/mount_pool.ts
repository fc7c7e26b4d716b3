/**
 * The pool of worker threads that makes every call on the shared mount (a hung mount never hangs
 * the node). Measured on ceph-fuse stopped with SIGSTOP: every call on the mount blocks in the
 * kernel; two such calls on Bun's own fs thread pool starve it (even local writes then time out),
 * and a synchronous FFI call on the main thread freezes the event loop. Here each call runs
 * synchronously on a worker thread, with a deadline. A thread takes one batch at a time: up to
 * BATCH queued metadata calls in one message (a read, a hash or a copy goes alone), so calls that
 * come in bursts (dispatch stats 256 paths at once) pay one thread wake-up per batch, not per call.
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
 * The deadline runs from the moment a thread takes the call's batch, and restarts with every
 * message the thread sends (results come at least every timeout/4 ms): time queued behind busy
 * threads does not count (a busy pool is not a hung mount). When a batch goes silent, every call of
 * it that has no answer yet is rejected; those not started are never started. Threads are
 * unref'd once started, and never ref'd again: the pool never keeps a process alive, and a call
 * in flight keeps it alive through its deadline timer (ref'ing a thread for each hand-off and
 * unref'ing it after cost ~10 µs of CPU per hand-off, more than the message itself). A process whose thread is stuck in the kernel
 * cannot exit until the mount answers (it stays a zombie): process.processState reports that.
 */

import { MountUnavailableError } from "./errors.ts";
import {
  BATCH,
  batchable,
  type Call,
  type CallMeta,
  OPENS,
  READS,
  SCRATCH_MAX,
  SCRATCH_MIN,
  toError,
} from "./mount_calls.ts";
import type { MountOps, OpName } from "./mount_ops.ts";
import {
  decodeReply,
  encodeRequest,
  type InScratch,
  type WorkerEntry,
  type WorkerReply,
  type WorkerRequest,
} from "./mount_wire.ts";
import type { MountStatus } from "./types.ts";

/** One worker thread as the pool sees it (a Web Worker in Bun, node:worker_threads in Deno). */
export interface WorkerPort {
  post(message: unknown): void;
  onMessage(handler: (data: unknown) => void): void;
  onError(handler: (error: unknown) => void): void;
  /** Once started: it never keeps the process alive (a call in flight does, by its timer). */
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

type Result<K extends OpName> = ReturnType<MountOps[K]>;

interface Slot {
  port: WorkerPort;
  /** The thread's read buffer, shared with it; grown on demand up to SCRATCH_MAX. */
  scratch: SharedArrayBuffer | null;
  /** The highest call id the main thread gave up on (read by the thread before each call). */
  abandonedId: Int32Array;
  ready: boolean;
  /** The calls of the batch it runs, by id, until each is answered (or skipped, once abandoned). */
  calls: Map<number, Call>;
  timer?: ReturnType<typeof setTimeout>;
  bulk: boolean;
  abandoned: boolean;
  /** When it was abandoned (for lateness in status). */
  abandonedAt: number;
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
  private handoffs = 0;

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
    for (const slot of this.live) if (slot.calls.size > 0) busy++;
    return {
      timeoutMs: this.options.timeoutMs,
      live: this.live.size,
      busy,
      abandoned: this.abandoned.size,
      maxStuckThreads: this.options.maxStuckThreads,
      queued: this.queue.length,
      lateReturns: this.lateReturns,
      handoffs: this.handoffs,
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
        if (this.live.size < threads && this.starting === 0) this.spawn();
        return;
      }
      const batch = this.takeBatch();
      if (batch.length === 0) {
        this.idle.push(slot);
        return;
      }
      this.dispatch(slot, batch);
    }
  }

  /**
   * The next batch: the first queued call that may run now, and with a metadata call, the
   * metadata calls queued after it. Long calls leave one thread for everything else.
   */
  private takeBatch(): Call[] {
    const { threads } = this.options;
    const bulkAllowed = threads === 1 || this.bulkBusy < threads - 1;
    const first = this.queue.findIndex((c) => bulkAllowed || !c.meta.bulk);
    if (first < 0) return [];
    const head = this.queue[first] as Call;
    if (!batchable(head)) return this.queue.splice(first, 1);
    const batch: Call[] = [];
    for (let i = first; i < this.queue.length && batch.length < BATCH; ) {
      const call = this.queue[i] as Call;
      if (batchable(call)) {
        batch.push(call);
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private spawn(): void {
    const port = this.options.spawn();
    const slot: Slot = {
      port,
      scratch: null,
      abandonedId: new Int32Array(new SharedArrayBuffer(4)),
      ready: false,
      calls: new Map(),
      bulk: false,
      abandoned: false,
      abandonedAt: 0,
    };
    this.live.add(slot);
    this.starting++;
    port.onMessage((data) => this.onReply(slot, decodeReply(data)));
    port.onError((error) => this.onWorkerError(slot, error));
    // Progress well within the deadline, so that a batch or a long call that moves is never cut.
    const progressMs = Math.max(1, Math.min(100, Math.floor(this.options.timeoutMs / 4)));
    const init: WorkerRequest = { init: slot.abandonedId.buffer as SharedArrayBuffer, progressMs };
    port.post(encodeRequest(init));
  }

  private dispatch(slot: Slot, batch: Call[]): void {
    for (const call of batch) slot.calls.set(call.id, call);
    slot.bulk = batch.some((c) => c.meta.bulk);
    if (slot.bulk) this.bulkBusy++;
    const [only] = batch;
    const at = only && batch.length === 1 ? READS[only.op] : undefined;
    const length = at === undefined ? 0 : Number(only?.args[at]);
    if (length > (slot.scratch?.byteLength ?? 0) && length <= SCRATCH_MAX) {
      let size = SCRATCH_MIN;
      while (size < length) size *= 2;
      slot.scratch = new SharedArrayBuffer(size);
      slot.port.post(encodeRequest({ scratch: slot.scratch }));
    }
    const calls = batch.map(({ id, op, args }) => ({ id, op, args }));
    this.handoffs++;
    slot.port.post(encodeRequest({ batch: calls }));
    this.arm(slot);
  }

  private arm(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => this.expire(slot), this.options.timeoutMs);
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if ("ready" in reply) {
      slot.ready = true;
      this.starting--;
      slot.port.unref();
      this.release(slot);
      return;
    }
    for (const entry of reply.batch) {
      const call = slot.calls.get(entry.id);
      if (!call || "progress" in entry) continue;
      slot.calls.delete(entry.id);
      if (slot.abandoned) {
        this.late(call, entry);
        continue;
      }
      call.meta.done?.();
      if ("skipped" in entry) call.reject(new Error(`Internal: ${call.op} skipped while awaited`));
      else if (entry.ok) call.resolve(this.bytesOut(slot, call, entry.value));
      else call.reject(toError(entry.error, call.meta));
    }
    if (slot.calls.size > 0) {
      // The batch goes on: any message from the thread shows the mount answers.
      if (!slot.abandoned) this.arm(slot);
      return;
    }
    if (slot.abandoned) {
      this.rejoin(slot);
      return;
    }
    clearTimeout(slot.timer);
    if (slot.bulk) this.bulkBusy--;
    slot.bulk = false;
    this.release(slot);
  }

  /** A read's bytes, copied out of the scratch buffer before the thread is given another call. */
  private bytesOut(slot: Slot, call: Call, value: unknown): unknown {
    const n = (value as InScratch | null)?.scratchBytes;
    const into = call.meta.into;
    if (n === undefined || !slot.scratch) {
      if (!into || !(value instanceof Uint8Array)) return value;
      into.set(value);
      return into.subarray(0, value.length);
    }
    const bytes = new Uint8Array(slot.scratch, 0, n);
    if (!into) return bytes.slice();
    into.set(bytes);
    return into.subarray(0, n);
  }

  /** An idle thread waits (unref'd: it never keeps the process alive), then takes queued work. */
  private release(slot: Slot): void {
    this.idle.push(slot);
    this.pump();
  }

  /** The thread went silent past the deadline: reject its calls and give up on it. */
  private expire(slot: Slot): void {
    if (slot.abandoned || slot.calls.size === 0) return;
    slot.abandoned = true;
    slot.abandonedAt = Date.now();
    Atomics.store(slot.abandonedId, 0, Math.max(...slot.calls.keys()));
    this.live.delete(slot);
    this.abandoned.add(slot);
    if (slot.bulk) this.bulkBusy--;
    slot.bulk = false;
    // Its deadline timer has fired and is not armed again: a thread stuck in the kernel (unref'd
    // since it started) does not keep the event loop waiting for it.
    const { timeoutMs } = this.options;
    for (const call of slot.calls.values())
      call.reject(new MountUnavailableError(call.meta.op, call.meta.path, timeoutMs, "deadline"));
    this.pump();
  }

  /** The answer of a call given up on: it ran after all (late), or was skipped. */
  private late(call: Call, entry: WorkerEntry): void {
    call.meta.done?.();
    const opened = OPENS[call.op];
    if (opened && "ok" in entry && entry.ok) {
      // Nobody holds the descriptor that the late open returned: close it.
      const fd = opened(entry.value);
      this.call("close", [fd], { op: "close", path: call.meta.path }).catch(() => {});
    }
  }

  /** An abandoned thread answered all its calls (the mount thawed): it serves again, or exits. */
  private rejoin(slot: Slot): void {
    this.abandoned.delete(slot);
    this.lateReturns++;
    slot.abandoned = false;
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
    clearTimeout(slot.timer);
    slot.port.terminate();
    if (slot.bulk && wasLive) this.bulkBusy--;
    const detail = error instanceof Error ? error.message : String(error);
    for (const call of slot.calls.values()) {
      call.meta.done?.();
      call.reject(
        new Error(`A mount worker failed in ${call.meta.op} "${call.meta.path}": ${detail}`),
      );
    }
    slot.calls.clear();
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
