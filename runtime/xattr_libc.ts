/**
 * Extended attributes over libc, shared by the Bun and Deno bindings: each runtime only supplies
 * the raw calls (path and descriptor variants) and a way to read errno. The calls here are
 * synchronous: they run on the mount's worker threads (mount_worker.ts), never on the event loop.
 */
import { xattrError } from "./errors.ts";
import type { XattrMode } from "./types.ts";
import {
  cString,
  ENODATA,
  ERANGE,
  modeFlags,
  parseNameList,
  XATTR_SIZE_MAX,
} from "./xattr_codec.ts";

/** The raw libc calls, with sizes as plain numbers; each returns -1 on failure. */
export interface LibcXattr {
  getxattr(path: Uint8Array, name: Uint8Array, value: Uint8Array, size: number): number;
  fgetxattr(fd: number, name: Uint8Array, value: Uint8Array, size: number): number;
  setxattr(
    path: Uint8Array,
    name: Uint8Array,
    value: Uint8Array,
    size: number,
    flags: number,
  ): number;
  fsetxattr(fd: number, name: Uint8Array, value: Uint8Array, size: number, flags: number): number;
  removexattr(path: Uint8Array, name: Uint8Array): number;
  fremovexattr(fd: number, name: Uint8Array): number;
  listxattr(path: Uint8Array, list: Uint8Array, size: number): number;
  flistxattr(fd: number, list: Uint8Array, size: number): number;
  /** errno of the last failed call, read right after it on the same thread. */
  errno(): number;
}

/** What an xattr call acts on: a path (following symlinks) or an open descriptor. */
export type XattrTarget = { path: string } | { fd: number; path: string };

export interface XattrCalls {
  get(target: XattrTarget, name: string): Uint8Array | null;
  set(target: XattrTarget, name: string, value: Uint8Array, mode: XattrMode): void;
  remove(target: XattrTarget, name: string): boolean;
  list(target: XattrTarget): string[];
}

// A non-empty buffer for empty values: FFI layers reject zero-length pointers.
const EMPTY = new Uint8Array(1);

/** Synchronous xattr calls; failures throw XattrError (XattrExistsError for EEXIST). */
export function xattrCalls(libc: LibcXattr): XattrCalls {
  const get = (t: XattrTarget, name: Uint8Array, value: Uint8Array, size: number) =>
    "fd" in t
      ? libc.fgetxattr(t.fd, name, value, size)
      : libc.getxattr(cString(t.path), name, value, size);
  // One buffer for every get and list (the calls are synchronous, and a value or name list is
  // copied out before the next call): a fresh 64 KiB buffer per list cost more CPU than the call
  // itself, ~0.1 ms a list. Each call offers 4 KiB first and the whole buffer only on ERANGE:
  // the kernel allocates (and for a get, zeroes) as much as it is offered.
  const scratch = new Uint8Array(XATTR_SIZE_MAX);
  const FIRST = 4096;
  const sized = (call: (into: Uint8Array) => number): number => {
    const n = call(scratch.subarray(0, FIRST));
    return n < 0 && libc.errno() === ERANGE ? call(scratch) : n;
  };
  return {
    get(target, name) {
      const cName = cString(name);
      const n = sized((into) => get(target, cName, into, into.length));
      if (n >= 0) return scratch.slice(0, n);
      const code = libc.errno();
      if (code === ENODATA) return null;
      throw xattrError(code, "read", target.path, name);
    },
    set(target, name, value, mode) {
      const data = value.length === 0 ? EMPTY : value;
      const flags = modeFlags(mode);
      const rc =
        "fd" in target
          ? libc.fsetxattr(target.fd, cString(name), data, value.length, flags)
          : libc.setxattr(cString(target.path), cString(name), data, value.length, flags);
      if (rc !== 0) throw xattrError(libc.errno(), "write", target.path, name);
    },
    remove(target, name) {
      const rc =
        "fd" in target
          ? libc.fremovexattr(target.fd, cString(name))
          : libc.removexattr(cString(target.path), cString(name));
      if (rc === 0) return true;
      const code = libc.errno();
      if (code === ENODATA) return false;
      throw xattrError(code, "remove", target.path, name);
    },
    list(target) {
      const cPath = "fd" in target ? null : cString(target.path);
      const n = sized((into) =>
        "fd" in target
          ? libc.flistxattr(target.fd, into, into.length)
          : libc.listxattr(cPath as Uint8Array, into, into.length),
      );
      if (n < 0) throw xattrError(libc.errno(), "list", target.path, "*");
      return parseNameList(scratch, n);
    },
  };
}
