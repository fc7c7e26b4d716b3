/**
 * Compound calls: a few calls on one descriptor that a caller always makes back to back, made by
 * one worker thread in one hand-off (one message each way instead of one per call; the messages,
 * not the system calls, were most of a small file's client CPU). Each keeps the order and the
 * meaning of the calls made one by one: a call runs only if the one before it succeeded, as a
 * caller awaiting each would have stopped at the first error, and each call's error comes back
 * as that call's own (the caller throws it where it would have thrown it). The deadline is the
 * hand-off's, as for any call (mount_pool.ts), restarted after each of its calls as a batch's
 * calls restart it (`progress`): a compound call of seven calls on a slow metadata server has a
 * deadline per call, as the calls one by one had, and one stuck in the kernel is abandoned whole.
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

/** The single calls the compound ones are made of (mount_ops.ts). */
interface SingleOps {
  open(path: string, mode: OpenMode): { fd: number; noatime: boolean };
  fstat(fd: number): FileStat;
  lstat(path: string): FileStat;
  flistxattr(fd: number): string[];
  fgetxattr(fd: number, name: string): Uint8Array | null;
  fsetxattr(fd: number, name: string, value: Uint8Array, mode: XattrMode): void;
  fremovexattr(fd: number, name: string): boolean;
  flockTry(fd: number): boolean;
  /** pread from offset 0 until `length` bytes or end of file, into a buffer of its own. */
  readWhole(fd: number, length: number): Uint8Array;
}

/** A name of the form `<prefix><n>` (n a decimal integer from 1, as record names are). */
const NUMBERED = /^[1-9][0-9]{0,14}$/;

/** Of `names`, the one `<prefix><n>` with the highest n; null when none has that form. */
export function topName(names: string[], prefix: string): string | null {
  let top: string | null = null;
  let max = 0;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (NUMBERED.test(rest) && Number(rest) > max) {
      max = Number(rest);
      top = name;
    }
  }
  return top;
}

/** `progress`: the worker's report that a call made progress (throttled; restarts the deadline). */
export function compoundOps(ops: SingleOps, progress: () => void) {
  /** One call of the compound: its value or its error, then a progress report. */
  function step<T>(call: () => T): Step<T> {
    try {
      return { ok: true, value: call() };
    } catch (err) {
      return { ok: false, error: toWire(err) };
    } finally {
      progress();
    }
  }
  /**
   * flistxattr, then (with a `top` prefix, and only if the listing succeeded) fgetxattr of the
   * listed name `<top><n>` with the highest n: the view's first read (the latest decision).
   */
  function listTop(fd: number, top: string | null) {
    const names = step(() => ops.flistxattr(fd));
    const name = names.ok && top !== null ? topName(names.value, top) : null;
    return {
      names,
      top: name === null ? null : { name, value: step(() => ops.fgetxattr(fd, name)) },
    };
  }
  /** fstat, then, if it succeeded, fgetxattr of `name` (the version, then a mark). */
  function statThenGet(fd: number, name: string) {
    const stat = step(() => ops.fstat(fd));
    return { stat, value: stat.ok ? step(() => ops.fgetxattr(fd, name)) : null };
  }
  /** fremovexattr of each name in turn, up to the first that fails (GC of one view). */
  function removeXattrs(fd: number, names: string[]) {
    const removed: Step<boolean>[] = [];
    for (const name of names) {
      const one = step(() => ops.fremovexattr(fd, name));
      removed.push(one);
      if (!one.ok) break;
    }
    return removed;
  }
  /** `listTop`, then with a `mark`, if both succeeded, `statThenGet` of it. */
  function listTopThenMark(fd: number, top: string | null, mark: string | null) {
    const listed = listTop(fd, top);
    const read = listed.names.ok && (listed.top === null || listed.top.value.ok);
    return { ...listed, marked: read && mark !== null ? statThenGet(fd, mark) : null };
  }
  return {
    /**
     * open, fstat, and for a regular file flistxattr (a file's first look: protocol v2 section 4,
     * steps 1 and 2). With `lock`, flock(LOCK_EX|LOCK_NB) between the fstat and the listing,
     * and the listing only if the lock was taken (release and restore, docs/tiering.md step 1);
     * with `top`, the listing's `listTop` read; with `mark`, `statThenGet` of it after them. An
     * open that fails throws; the descriptor of one that succeeded is always returned (the
     * caller closes it), with the errors of the calls after it.
     */
    openLook(
      path: string,
      mode: OpenMode,
      lock = false,
      top: string | null = null,
      mark: string | null = null,
    ) {
      const opened = ops.open(path, mode);
      progress();
      const stat = step(() => ops.fstat(opened.fd));
      const file = stat.ok && stat.value.kind === "file";
      const locked = file && lock ? step(() => ops.flockTry(opened.fd)) : null;
      const listed =
        file && (!lock || (locked?.ok && locked.value))
          ? listTopThenMark(opened.fd, top, mark)
          : null;
      return {
        ...opened,
        stat,
        locked,
        names: listed?.names ?? null,
        top: listed?.top ?? null,
        marked: listed?.marked ?? null,
      };
    },
    /**
     * fsetxattr with XATTR_CREATE, then, if it created the name, flistxattr (and with `top`,
     * the `listTop` read after it; with `mark`, `statThenGet` of it after them).
     */
    createXattrThenList(
      fd: number,
      name: string,
      value: Uint8Array,
      top: string | null = null,
      mark: string | null = null,
    ) {
      const created = step(() => ops.fsetxattr(fd, name, value, "create"));
      const listed = created.ok ? listTopThenMark(fd, top, mark) : null;
      return {
        created,
        names: listed?.names ?? null,
        top: listed?.top ?? null,
        marked: listed?.marked ?? null,
      };
    },
    /**
     * fremovexattr of each of `removeFirst` (as removeXattrs), then, if they all succeeded,
     * flistxattr and its `listTop` read, then, if both succeeded, fstat (GC, then a view, then
     * the file's version: release's re-check under the lock).
     */
    listTopThenFstat(fd: number, top: string, removeFirst: string[] = []) {
      const removed = removeXattrs(fd, removeFirst);
      if (removed.some((r) => !r.ok)) return { removed, names: null, top: null, stat: null };
      const listed = listTop(fd, top);
      const read = listed.names.ok && (listed.top === null || listed.top.value.ok);
      return { removed, ...listed, stat: read ? step(() => ops.fstat(fd)) : null };
    },
    fstatThenGetXattr: statThenGet,
    removeXattrs,
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
