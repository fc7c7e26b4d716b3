/**
 * Compound calls: a few calls on one descriptor that a caller always makes back to back, made by
 * one worker thread in one hand-off (one message each way instead of one per call; the messages,
 * not the system calls, were most of a small file's client CPU). Each keeps the order and the
 * meaning of the calls made one by one: a call runs only if the one before it succeeded, as a
 * caller awaiting each would have stopped at the first error, and each call's error comes back
 * as that call's own (the caller throws it where it would have thrown it). The deadline is the
 * hand-off's, as for any call (mount_pool.ts): one stuck in the kernel is abandoned whole.
 */
import { XattrError } from "./errors.ts";
import type { WireError } from "./mount_wire.ts";
import type { FileStat, OpenMode, XattrMode } from "./types.ts";

/** The result of one call of a compound call: its value, or its error as it crosses threads. */
export type Step<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** An error as it crosses the thread boundary (classes do not survive cloning). */
export function toWire(err: unknown): WireError {
  if (err instanceof XattrError) return { kind: "xattr", code: err.code, attr: err.attr };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("E")) return { kind: "fs", code };
  return { kind: "bug", message: err instanceof Error ? err.message : String(err) };
}

function step<T>(call: () => T): Step<T> {
  try {
    return { ok: true, value: call() };
  } catch (err) {
    return { ok: false, error: toWire(err) };
  }
}

/** The single calls the compound ones are made of (mount_ops.ts). */
interface SingleOps {
  open(path: string, mode: OpenMode): { fd: number; noatime: boolean };
  fstat(fd: number): FileStat;
  lstat(path: string): FileStat;
  flistxattr(fd: number): string[];
  fsetxattr(fd: number, name: string, value: Uint8Array, mode: XattrMode): void;
  /** pread from offset 0 until `length` bytes or end of file, into a buffer of its own. */
  readWhole(fd: number, length: number): Uint8Array;
}

export function compoundOps(ops: SingleOps) {
  return {
    /**
     * open, fstat, and for a regular file flistxattr (a file's first look: protocol v2 section 4,
     * steps 1 and 2). An open that fails throws; the descriptor of one that succeeded is always
     * returned (the caller closes it), with the errors of the calls after it.
     */
    openLook(path: string, mode: OpenMode) {
      const opened = ops.open(path, mode);
      const stat = step(() => ops.fstat(opened.fd));
      const names =
        stat.ok && stat.value.kind === "file" ? step(() => ops.flistxattr(opened.fd)) : null;
      return { ...opened, stat, names };
    },
    /** fsetxattr with XATTR_CREATE, then, if it created the name, flistxattr. */
    createXattrThenList(fd: number, name: string, value: Uint8Array) {
      const created = step(() => ops.fsetxattr(fd, name, value, "create"));
      return { created, names: created.ok ? step(() => ops.flistxattr(fd)) : null };
    },
    /**
     * fstat, then, for a regular file of at most `max` bytes, pread of its whole size from offset
     * 0 (`head`: fewer bytes if it ended sooner; null when not read).
     */
    fstatThenRead(fd: number, max: number) {
      const stat = step(() => ops.fstat(fd));
      const small = stat.ok && stat.value.kind === "file" && stat.value.size <= max;
      return { stat, head: small ? step(() => ops.readWhole(fd, stat.value.size)) : null };
    },
    /** fstat, then, if it succeeded, lstat of `path` (is our inode still there). */
    fstatThenLstat(fd: number, path: string) {
      const stat = step(() => ops.fstat(fd));
      return { stat, atPath: stat.ok ? step(() => ops.lstat(path)) : null };
    },
  };
}
