/**
 * Descriptor-level libc calls for the Ceph probes (protocol v2 works on one descriptor per
 * attempt): f{get,set,remove,list}xattr on a node:fs descriptor, and the open flags it uses.
 * Synchronous FFI: a call on a frozen mount blocks the calling thread (that is what the hung
 * mount probe measures).
 */

import { dlopen, FFIType, read } from "bun:ffi";
import { constants } from "node:fs";
import { cString, XATTR_CREATE } from "../../runtime/xattr_codec.ts";

const { ptr, i64, i32, u64 } = FFIType;
const libc = dlopen("libc.so.6", {
  fgetxattr: { args: [i32, ptr, ptr, u64], returns: i64 },
  fsetxattr: { args: [i32, ptr, ptr, u64, i32], returns: i32 },
  fremovexattr: { args: [i32, ptr], returns: i32 },
  flistxattr: { args: [i32, ptr, u64], returns: i64 },
  __errno_location: { args: [], returns: ptr },
}).symbols;

/** O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOATIME, as design 5b opens a file per attempt. */
export const ATTEMPT_FLAGS =
  constants.O_RDONLY |
  constants.O_NOFOLLOW |
  constants.O_NONBLOCK |
  (constants.O_NOATIME ?? 0o1000000);

function errno(): number {
  const location = libc.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

/** The result of one call: the value (bytes, names) or the errno number. */
export type FdResult<T> = { ok: true; value: T } | { ok: false; errno: number };

export function fgetxattr(fd: number, name: string): FdResult<string> {
  const buffer = new Uint8Array(4096);
  const n = Number(libc.fgetxattr(fd, cString(name), buffer, buffer.length));
  return n >= 0
    ? { ok: true, value: new TextDecoder().decode(buffer.subarray(0, n)) }
    : { ok: false, errno: errno() };
}

export function fsetxattr(fd: number, name: string, value: string, create = true): FdResult<null> {
  const bytes = new TextEncoder().encode(value.length === 0 ? "\0" : value);
  const rc = libc.fsetxattr(fd, cString(name), bytes, value.length, create ? XATTR_CREATE : 0);
  return rc === 0 ? { ok: true, value: null } : { ok: false, errno: errno() };
}

export function fremovexattr(fd: number, name: string): FdResult<null> {
  return libc.fremovexattr(fd, cString(name)) === 0
    ? { ok: true, value: null }
    : { ok: false, errno: errno() };
}

export function flistxattr(fd: number): FdResult<string[]> {
  const buffer = new Uint8Array(65536);
  const n = Number(libc.flistxattr(fd, buffer, buffer.length));
  if (n < 0) return { ok: false, errno: errno() };
  const names = new TextDecoder().decode(buffer.subarray(0, n)).split("\0");
  return { ok: true, value: names.filter(Boolean) };
}
