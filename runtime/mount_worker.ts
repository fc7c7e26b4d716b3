/**
 * The loop of one mount worker thread: runs the calls of a batch one after the other,
 * synchronously, and posts their results (messages: mount_wire.ts). Shared by the Bun and Deno
 * entry points, which only supply the message port and the libc binding. A call that the main
 * thread has given up on before it started (its id is at most the abandoned id in the shared
 * buffer) is skipped: a call whose caller already got MountUnavailableError must not start late.
 */
import type { Libc } from "./libc_file.ts";
import { toWire } from "./mount_compound.ts";
import { createMountOps, type OpName } from "./mount_ops.ts";
import { decodeRequest, encodeReply, type InScratch, type WorkerEntry } from "./mount_wire.ts";

export interface WorkerEnd {
  onMessage(handler: (data: unknown) => void): void;
  post(message: unknown, transfer: ArrayBuffer[]): void;
}

export function serveMountOps(end: WorkerEnd, libc: Libc): void {
  let current = 0;
  // Results are sent when the batch ends, and at least every progressMs while it runs (each
  // message restarts the deadlines of the calls still waiting).
  let progressMs = 100;
  let lastFlush = 0;
  let pending: WorkerEntry[] = [];
  let abandoned: Int32Array<ArrayBufferLike> = new Int32Array(1);
  let scratch: Uint8Array<ArrayBufferLike> | null = null;
  const flush = () => {
    lastFlush = performance.now();
    if (pending.length === 0) return;
    const { message, transfer } = encodeReply({ batch: pending });
    pending = [];
    end.post(message, transfer);
  };
  const ops = createMountOps(libc, {
    progress() {
      if (performance.now() - lastFlush < progressMs) return;
      pending.push({ id: current, progress: true });
      flush();
    },
    buffer: (length) =>
      scratch && length <= scratch.length ? scratch.subarray(0, length) : new Uint8Array(length),
  });
  const run = (id: number, op: OpName, args: unknown[]): WorkerEntry => {
    // The main thread gave up on this call (and on every earlier one of this thread's batch).
    if (id <= Atomics.load(abandoned, 0)) return { id, skipped: true };
    current = id;
    try {
      const value = (ops[op] as (...a: unknown[]) => unknown)(...args);
      // Bytes in the scratch buffer stay there: the pool copies them out before the next call.
      if (value instanceof Uint8Array && value.buffer === scratch?.buffer)
        return { id, ok: true, value: { scratchBytes: value.length } satisfies InScratch };
      return { id, ok: true, value };
    } catch (err) {
      return { id, ok: false, error: toWire(err) };
    }
  };
  end.onMessage((data) => {
    const message = decodeRequest(data);
    if ("init" in message) {
      abandoned = new Int32Array(message.init);
      progressMs = message.progressMs;
      return;
    }
    if ("scratch" in message) {
      scratch = new Uint8Array(message.scratch);
      return;
    }
    lastFlush = performance.now();
    for (const call of message.batch) {
      // Not `pending.push(run(...))`: run may flush, which replaces `pending` meanwhile.
      const entry = run(call.id, call.op, call.args);
      pending.push(entry);
      if (performance.now() - lastFlush >= progressMs) flush();
    }
    flush();
  });
  end.post({ ready: true }, []);
}
