/**
 * The xattr half of the Runtime over libc's getxattr/setxattr/removexattr/listxattr, shared by
 * the Bun and Deno bindings: each runtime only supplies the raw calls and a way to read errno.
 */
import { xattrError } from "./errors.ts";
import type { RuntimeXattr } from "./types.ts";
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
  setxattr(
    path: Uint8Array,
    name: Uint8Array,
    value: Uint8Array,
    size: number,
    flags: number,
  ): number;
  removexattr(path: Uint8Array, name: Uint8Array): number;
  listxattr(path: Uint8Array, list: Uint8Array, size: number): number;
  /** errno of the last failed call, read right after it on the same thread. */
  errno(): number;
}

// A non-empty buffer for empty values: FFI layers reject zero-length pointers.
const EMPTY = new Uint8Array(1);

export function xattrOverLibc(libc: LibcXattr): RuntimeXattr {
  return {
    async get(path, name) {
      let size = 4096;
      for (;;) {
        const buffer = new Uint8Array(size);
        const n = libc.getxattr(cString(path), cString(name), buffer, size);
        if (n >= 0) return buffer.slice(0, n);
        const code = libc.errno();
        if (code === ENODATA) return null;
        if (code === ERANGE && size < XATTR_SIZE_MAX) {
          size = XATTR_SIZE_MAX;
          continue;
        }
        throw xattrError(code, "read", path, name);
      }
    },
    async set(path, name, value, mode) {
      const data = value.length === 0 ? EMPTY : value;
      const rc = libc.setxattr(cString(path), cString(name), data, value.length, modeFlags(mode));
      if (rc !== 0) throw xattrError(libc.errno(), "write", path, name);
    },
    async remove(path, name) {
      if (libc.removexattr(cString(path), cString(name)) === 0) return true;
      const code = libc.errno();
      if (code === ENODATA) return false;
      throw xattrError(code, "remove", path, name);
    },
    async list(path) {
      const buffer = new Uint8Array(XATTR_SIZE_MAX);
      const n = libc.listxattr(cString(path), buffer, XATTR_SIZE_MAX);
      if (n < 0) throw xattrError(libc.errno(), "list", path, "*");
      return parseNameList(buffer, n);
    },
  };
}
