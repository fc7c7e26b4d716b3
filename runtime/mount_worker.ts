/**
 * The loop of one mount worker thread: runs one call at a time, synchronously, and posts its result
 * (a Uint8Array result is transferred, not copied). Shared by the Bun and Deno entry points, which
 * only supply the message port and the libc binding.
 *
 * Message protocol (main -> worker): `{init: SharedArrayBuffer, progressMs}` once, then
 * `{id, op, args}`.
 * Worker -> main: `{ready}` once, then per call `{id, progress}` (a long call is alive),
 * `{id, ok, value}`, `{id, ok: false, error}`, or `{id, skipped}` when the main thread had given up
 * on the call before it started (the abandoned-id slot of the shared buffer names it): a call
 * whose caller already got MountUnavailableError must not start late.
 */
import { XattrError } from "./errors.ts";
import type { Libc } from "./libc_file.ts";
import { createMountOps, type OpName } from "./mount_ops.ts";

/** An error as it crosses the thread boundary (classes do not survive structured cloning). */
export type WireError =
  | { kind: "fs"; code: string }
  | { kind: "xattr"; code: string; attr: string }
  | { kind: "bug"; message: string };

export type WorkerRequest =
  | { init: SharedArrayBuffer; progressMs: number }
  | { id: number; op: OpName; args: unknown[] };

export type WorkerReply =
  | { ready: true }
  | { id: number; progress: true }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError }
  | { id: number; skipped: true };

export interface WorkerEnd {
  onMessage(handler: (message: WorkerRequest) => void): void;
  post(message: WorkerReply, transfer: ArrayBuffer[]): void;
}

function toWire(err: unknown): WireError {
  if (err instanceof XattrError) return { kind: "xattr", code: err.code, attr: err.attr };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("E")) return { kind: "fs", code };
  return { kind: "bug", message: err instanceof Error ? err.message : String(err) };
}

export function serveMountOps(end: WorkerEnd, libc: Libc): void {
  let current = 0;
  let lastProgress = 0;
  // A long call reports progress at most this often (each report restarts its deadline).
  let progressMs = 100;
  let abandoned: Int32Array<ArrayBufferLike> = new Int32Array(1);
  const ops = createMountOps(libc, {
    progress() {
      const now = performance.now();
      if (now - lastProgress < progressMs) return;
      lastProgress = now;
      end.post({ id: current, progress: true }, []);
    },
  });
  end.onMessage((message) => {
    if ("init" in message) {
      abandoned = new Int32Array(message.init);
      progressMs = message.progressMs;
      return;
    }
    const { id, op, args } = message;
    if (Atomics.load(abandoned, 0) === id) {
      end.post({ id, skipped: true }, []);
      return;
    }
    current = id;
    lastProgress = performance.now();
    try {
      const value = (ops[op] as (...a: unknown[]) => unknown)(...args);
      const transfer = value instanceof Uint8Array ? [value.buffer as ArrayBuffer] : [];
      end.post({ id, ok: true, value }, transfer);
    } catch (err) {
      end.post({ id, ok: false, error: toWire(err) }, []);
    }
  });
  end.post({ ready: true }, []);
}
