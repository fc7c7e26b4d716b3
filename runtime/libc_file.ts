/**
 * statx(2), futimens(2) and flock(2) over libc, shared by the Bun and Deno bindings. statx gives
 * both runtimes the same exact nanosecond times (Deno's own stat rounds them; ctime to the second).
 */
import { errnoName, FsError } from "./errors.ts";
import type { FileKind, FileStat } from "./types.ts";
import { cString } from "./xattr_codec.ts";
import type { LibcXattr } from "./xattr_libc.ts";

export interface LibcFile {
  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, buffer: Uint8Array): number;
  futimens(fd: number, times: Uint8Array): number;
  flock(fd: number, operation: number): number;
  /** errno of the last failed call, read right after it on the same thread. */
  errno(): number;
}

/** Everything the runtime calls in libc. */
export type Libc = LibcXattr & LibcFile;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const EMPTY_PATH = cString("");
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const EWOULDBLOCK = 11;
/** futimens: leave this time as it is. */
const UTIME_OMIT = (1 << 30) - 2;
const NS = 1_000_000_000n;

function kindOf(mode: number): FileKind {
  const type = mode & 0o170000;
  if (type === 0o100000) return "file";
  if (type === 0o040000) return "dir";
  if (type === 0o120000) return "symlink";
  return "other";
}

/** Linux's st_dev encoding of a major/minor pair (what fstat reports). */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return (
    ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn)
  );
}

/** stat of a path (following symlinks or not) or of an open descriptor; throws FsError. */
export function statxOf(
  libc: LibcFile,
  target: { path: string; fd?: number },
  options: { follow: boolean; op: string },
): FileStat {
  const buffer = new Uint8Array(256);
  const rc =
    target.fd !== undefined
      ? libc.statx(target.fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_BASIC_STATS, buffer)
      : libc.statx(
          AT_FDCWD,
          cString(target.path),
          options.follow ? 0 : AT_SYMLINK_NOFOLLOW,
          STATX_BASIC_STATS,
          buffer,
        );
  if (rc !== 0) throw new FsError(errnoName(libc.errno()), options.op, target.path);
  const view = new DataView(buffer.buffer);
  const time = (at: number) =>
    (view.getBigInt64(at, true) * NS + BigInt(view.getUint32(at + 8, true))).toString();
  const mode = view.getUint16(28, true);
  return {
    kind: kindOf(mode),
    size: Number(view.getBigUint64(40, true)),
    mtimeNs: time(112),
    ino: view.getBigUint64(32, true).toString(),
    ctimeNs: time(96),
    atimeNs: time(64),
    dev: makedev(view.getUint32(136, true), view.getUint32(140, true)).toString(),
    mode,
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    nlink: view.getUint32(16, true),
  };
}

function timespec(view: DataView, at: number, ns: string | undefined): void {
  if (ns === undefined) {
    view.setBigInt64(at, 0n, true);
    view.setBigInt64(at + 8, BigInt(UTIME_OMIT), true);
    return;
  }
  const total = BigInt(ns);
  let seconds = total / NS;
  let nanos = total % NS;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS;
  }
  view.setBigInt64(at, seconds, true);
  view.setBigInt64(at + 8, nanos, true);
}

/** futimens(fd, [atime, mtime]); an omitted atime stays as it is. Throws FsError. */
export function setTimes(
  libc: LibcFile,
  target: { fd: number; path: string },
  atimeNs: string | undefined,
  mtimeNs: string,
): void {
  const times = new Uint8Array(32);
  const view = new DataView(times.buffer);
  timespec(view, 0, atimeNs);
  timespec(view, 16, mtimeNs);
  if (libc.futimens(target.fd, times) !== 0) {
    throw new FsError(errnoName(libc.errno()), "set the times of", target.path);
  }
}
