/**
 * Descriptor calls, statx(2), futimens(2) and flock(2) over libc, shared by the Bun and Deno
 * bindings. statx gives both runtimes the same exact nanosecond times (Deno's own stat rounds
 * them; ctime to the second). A descriptor that outlives one call (FileHandle, streams) is opened,
 * read, written and closed here, not with node:fs: Deno's node:fs knows a descriptor only in the
 * worker that opened it (another worker gets EBADF), and would close it again when that worker
 * ends, by then perhaps someone else's descriptor with the same number.
 */
import { errnoName, FsError } from "./errors.ts";
import type { FileKind, FileStat } from "./types.ts";
import { cString } from "./xattr_codec.ts";
import type { LibcXattr } from "./xattr_libc.ts";

export interface LibcFile {
  /** open(2) called with three arguments (it is variadic; fine for ints on x86-64 and arm64). */
  open(path: Uint8Array, flags: number, mode: number): number;
  close(fd: number): number;
  read(fd: number, buffer: Uint8Array, size: number): number;
  write(fd: number, buffer: Uint8Array, size: number): number;
  pread(fd: number, buffer: Uint8Array, size: number, offset: number): number;
  pwrite(fd: number, buffer: Uint8Array, size: number, offset: number): number;
  ftruncate(fd: number, size: number): number;
  fsync(fd: number): number;
  statx(dirfd: number, path: Uint8Array, flags: number, mask: number, buffer: Uint8Array): number;
  futimens(fd: number, times: Uint8Array): number;
  flock(fd: number, operation: number): number;
  /** errno of the last failed call, read right after it on the same thread. */
  errno(): number;
}

/** Everything the runtime calls in libc. */
export type Libc = LibcXattr & LibcFile;

/** The calls whose ints and buffers both FFIs pass as they are (no BigInt, no Number). */
type DirectCalls = Pick<
  Libc,
  "removexattr" | "fremovexattr" | "open" | "close" | "fsync" | "statx" | "futimens" | "flock"
>;

/** The direct calls of a bound libc, the same under Bun and Deno. */
export function directCalls(libc: DirectCalls): DirectCalls {
  return {
    removexattr: (path, name) => libc.removexattr(path, name),
    fremovexattr: (fd, name) => libc.fremovexattr(fd, name),
    open: (path, flags, mode) => libc.open(path, flags, mode),
    close: (fd) => libc.close(fd),
    fsync: (fd) => libc.fsync(fd),
    statx: (dirfd, path, flags, mask, buffer) => libc.statx(dirfd, path, flags, mask, buffer),
    futimens: (fd, times) => libc.futimens(fd, times),
    flock: (fd, operation) => libc.flock(fd, operation),
  };
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const EMPTY_PATH = cString("");
const O_CLOEXEC = 0o2000000;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const EWOULDBLOCK = 11;
/** futimens: leave this time as it is. */
const UTIME_OMIT = (1 << 30) - 2;
/** One statx buffer per thread (module state is per thread), decoded before the next call. */
const STATX_BUFFER = new Uint8Array(256);
const NS = 1_000_000_000n;

function kindOf(mode: number): FileKind {
  const type = mode & 0o170000;
  if (type === 0o100000) return "file";
  if (type === 0o040000) return "dir";
  if (type === 0o120000) return "symlink";
  return "other";
}

const TWO_32 = 2 ** 32;

/** An unsigned 64-bit field as a decimal string, exact (BigInt only above 2^53). */
function u64(view: DataView, at: number): string {
  const high = view.getUint32(at + 4, true);
  if (high >= 0x200000) return view.getBigUint64(at, true).toString();
  return String(high * TWO_32 + view.getUint32(at, true));
}

/** A statx timestamp (i64 seconds, u32 nanoseconds) as nanoseconds in a decimal string. */
function nanoseconds(view: DataView, at: number): string {
  const seconds = view.getInt32(at + 4, true) * TWO_32 + view.getUint32(at, true);
  const nanos = view.getUint32(at + 8, true);
  if (seconds > 0) return `${seconds}${String(nanos).padStart(9, "0")}`;
  if (seconds === 0) return String(nanos);
  return (BigInt(seconds) * NS + BigInt(nanos)).toString();
}

/** Linux's st_dev encoding of a major/minor pair (what fstat reports). */
function makedev(major: number, minor: number): string {
  if (major < 0x1000 && minor < 0x100000)
    return String((minor & 0xff) + major * 0x100 + (minor >>> 8) * 0x100000);
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return (
    ((ma & 0xfffff000n) << 32n) |
    ((ma & 0xfffn) << 8n) |
    ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn)
  ).toString();
}

/** stat of a path (following symlinks or not) or of an open descriptor; throws FsError. */
export function statxOf(
  libc: LibcFile,
  target: { path: string; fd?: number },
  options: { follow: boolean; op: string },
): FileStat {
  const buffer = STATX_BUFFER;
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
  // Offsets of struct statx (linux/stat.h); no BigInt on the common path (it costs ~3 µs a stat).
  const view = new DataView(buffer.buffer);
  const mode = view.getUint16(28, true);
  return {
    kind: kindOf(mode),
    size: view.getUint32(44, true) * TWO_32 + view.getUint32(40, true),
    mtimeNs: nanoseconds(view, 112),
    ino: u64(view, 32),
    ctimeNs: nanoseconds(view, 96),
    atimeNs: nanoseconds(view, 64),
    dev: makedev(view.getUint32(136, true), view.getUint32(140, true)),
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

/** Descriptor calls that throw FsError (errno name) on failure; sizes and offsets as numbers. */
export function descriptors(libc: LibcFile) {
  const check = (rc: number, op: string) => {
    if (rc < 0) throw new FsError(errnoName(libc.errno()), op, "");
    return rc;
  };
  return {
    open: (path: string, flags: number, mode = 0o644) =>
      check(libc.open(cString(path), flags | O_CLOEXEC, mode), "open"),
    close: (fd: number) => void check(libc.close(fd), "close"),
    /** One read(2) at the descriptor's offset. */
    read: (fd: number, into: Uint8Array) => check(libc.read(fd, into, into.length), "read"),
    /** One pread(2). */
    pread: (fd: number, into: Uint8Array, offset: number) =>
      check(libc.pread(fd, into, into.length, offset), "read"),
    /** Writes all of `bytes` at the descriptor's offset. */
    writeAll(fd: number, bytes: Uint8Array): void {
      for (let done = 0; done < bytes.length; ) {
        const rest = bytes.subarray(done);
        done += check(libc.write(fd, rest, rest.length), "write");
      }
    },
    /** Writes all of `bytes` at `offset`. */
    pwriteAll(fd: number, bytes: Uint8Array, offset: number, progress: () => void): void {
      for (let done = 0; done < bytes.length; ) {
        const rest = bytes.subarray(done);
        done += check(libc.pwrite(fd, rest, rest.length, offset + done), "write");
        progress();
      }
    },
    ftruncate: (fd: number, size: number) => void check(libc.ftruncate(fd, size), "truncate"),
    fsync: (fd: number) => void check(libc.fsync(fd), "sync"),
    /** flock(LOCK_EX | LOCK_NB): false when another open file description holds it. */
    tryLockExclusive(fd: number): boolean {
      if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
      const errno = libc.errno();
      if (errno === EWOULDBLOCK) return false;
      throw new FsError(errnoName(errno), "lock", "");
    },
  };
}

export type Descriptors = ReturnType<typeof descriptors>;

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
