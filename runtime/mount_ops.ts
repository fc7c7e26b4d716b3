/**
 * Every call the runtime makes on the shared mount, as synchronous functions: they run on the
 * mount's worker threads (mount_worker.ts), where blocking is harmless to the event loop, and
 * never on the main thread. node:fs sync APIs and libc (statx, xattrs, futimens) through FFI; the
 * same code in Bun and Deno. Errors are thrown as they come (node:fs errors, FsError, XattrError);
 * the pool turns them into typed errors naming the caller's operation and path.
 */
import { createHash, type Hash } from "node:crypto";
import * as fs from "node:fs";
import { errorCode } from "./errors.ts";
import { descriptors, type Libc, setTimes, statxOf } from "./libc_file.ts";
import { compoundOps } from "./mount_compound.ts";
import type { DirEntry, FileKind, FileStat, OpenMode, XattrMode } from "./types.ts";
import { xattrCalls } from "./xattr_libc.ts";

export interface OpHooks {
  /** A long call reports that it makes progress (each report restarts its deadline). */
  progress(): void;
  /**
   * A buffer for a read of `length` bytes: the thread's shared scratch buffer when it is large
   * enough (the pool copies out of it, so no fresh buffer is allocated and page-faulted per call:
   * ~0.8 ms per MiB on this VM), else a new one (transferred).
   */
  buffer(length: number): Uint8Array;
}

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_APPEND, O_TRUNC, O_EXCL, O_NOFOLLOW, O_NONBLOCK } =
  fs.constants;
// Linux's value; node:fs exports it on Linux, where alone this runs.
const O_NOATIME = fs.constants.O_NOATIME ?? 0o1000000;
/** Reads and hashes go in chunks of this size, reporting progress after each. */
const CHUNK = 1024 * 1024;
const encoder = new TextEncoder();
const bytesOf = (data: string | Uint8Array) =>
  typeof data === "string" ? encoder.encode(data) : data;

function kindOf(entry: fs.Dirent): FileKind {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "dir";
  if (entry.isSymbolicLink()) return "symlink";
  return "other";
}

export function createMountOps(libc: Libc, hooks: OpHooks) {
  const xattr = xattrCalls(libc);
  const fdTarget = (fd: number) => ({ fd, path: "" });

  const d = descriptors(libc);
  // Hashes and copies go through one buffer per thread, allocated once.
  const work = new Uint8Array(CHUNK);

  /** pread until `length` bytes or end of file (into `out`, else the hooks' buffer). */
  function preadFully(
    fd: number,
    offset: number,
    length: number,
    out = hooks.buffer(length),
  ): Uint8Array {
    let got = 0;
    while (got < length) {
      const n = d.pread(fd, out.subarray(got, Math.min(length, got + CHUNK)), offset + got);
      if (n === 0) break;
      got += n;
      hooks.progress();
    }
    return got === length ? out : out.subarray(0, got);
  }

  function hashRange(fd: number, offset: number, length: number): Hash {
    const hash = createHash("md5");
    for (let done = 0; done < length; ) {
      const n = d.pread(fd, work.subarray(0, Math.min(work.length, length - done)), offset + done);
      if (n === 0) break;
      hash.update(work.subarray(0, n));
      done += n;
      hooks.progress();
    }
    return hash;
  }

  /** Opens `path` for the length of one call (this thread, closed before the call returns). */
  function withFd<T>(path: string, flags: number, fn: (fd: number) => T): T {
    const fd = d.open(path, flags);
    try {
      return fn(fd);
    } finally {
      d.close(fd);
    }
  }

  /** Creates (or with O_EXCL: creates only) `path`, writes `data`, fsyncs. */
  function writeSynced(path: string, flags: number, data: string | Uint8Array): void {
    withFd(path, O_WRONLY | O_CREAT | flags, (fd) => {
      d.writeAll(fd, bytesOf(data));
      d.fsync(fd);
    });
  }

  function exists(path: string): boolean {
    try {
      statxOf(libc, { path }, { follow: false, op: "stat" });
      return true;
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw err;
    }
  }

  const ops = {
    noop: (): null => null,

    // Paths: the spool and the source tree (RuntimeFs, RuntimeXattr).
    stat: (path: string): FileStat => statxOf(libc, { path }, { follow: true, op: "stat" }),
    lstat: (path: string): FileStat => statxOf(libc, { path }, { follow: false, op: "lstat" }),
    exists,
    readDir: (path: string): DirEntry[] =>
      fs.readdirSync(path, { withFileTypes: true }).map((e) => ({ name: e.name, kind: kindOf(e) })),
    readText: (path: string): string => fs.readFileSync(path, "utf8"),
    readRange: (path: string, offset: number, length: number): Uint8Array =>
      withFd(path, O_RDONLY, (fd) => preadFully(fd, offset, length)),
    writeDurable: (path: string, data: string | Uint8Array): void =>
      writeSynced(path, O_TRUNC, data),
    createExclusive: (path: string, data: string | Uint8Array): void =>
      writeSynced(path, O_EXCL, data),
    // Whole lines: a file that ends in a torn line (a crash in the middle of an earlier append)
    // gets a newline first, so the fragment stays a line of its own and the new line is whole;
    // a short write is continued. One appender per file (a node's own journal and outbox).
    appendDurable: (path: string, data: string): void =>
      withFd(path, O_RDWR | O_CREAT | O_APPEND, (fd) => {
        const { size } = statxOf(libc, { path, fd }, { follow: false, op: "stat" });
        const last = new Uint8Array(1);
        const torn = size > 0 && d.pread(fd, last, size - 1) === 1 && last[0] !== 0x0a;
        d.writeAll(fd, encoder.encode(torn ? `\n${data}` : data));
        d.fsync(fd);
      }),
    rename: (from: string, to: string): void => fs.renameSync(from, to),
    link: (from: string, to: string): void => fs.linkSync(from, to),
    // In chunks with progress: a large copy is not a hung mount.
    copyFile: (from: string, to: string): void =>
      withFd(from, O_RDONLY, (input) =>
        withFd(to, O_WRONLY | O_CREAT | O_TRUNC, (output) => {
          for (let offset = 0; ; ) {
            const n = d.pread(input, work, offset);
            if (n === 0) break;
            d.writeAll(output, work.subarray(0, n));
            offset += n;
            hooks.progress();
          }
        }),
      ),
    mkdirp: (path: string): void => void fs.mkdirSync(path, { recursive: true }),
    remove: (path: string): void => fs.rmSync(path, { force: true }),
    removeTree: (path: string): void => fs.rmSync(path, { force: true, recursive: true }),
    syncDir: (path: string): void => withFd(path, O_RDONLY, (fd) => d.fsync(fd)),
    md5Range: (path: string, offset: number, length: number): Uint8Array =>
      withFd(path, O_RDONLY, (fd) => new Uint8Array(hashRange(fd, offset, length).digest())),
    md5File: (path: string): string =>
      withFd(path, O_RDONLY, (fd) => hashRange(fd, 0, Number.MAX_SAFE_INTEGER).digest("hex")),
    xattrGet: (path: string, name: string): Uint8Array | null => xattr.get({ path }, name),
    xattrSet: (path: string, name: string, value: Uint8Array, mode: XattrMode): void =>
      xattr.set({ path }, name, value, mode),
    xattrRemove: (path: string, name: string): boolean => xattr.remove({ path }, name),
    xattrList: (path: string): string[] => xattr.list({ path }),

    // Streams (readLines, openWriter): a descriptor read or written at its own offset.
    openRead: (path: string): number => d.open(path, O_RDONLY),
    openWrite: (path: string): number => d.open(path, O_WRONLY | O_CREAT | O_TRUNC),
    readNext: (fd: number, max: number): Uint8Array => {
      const buffer = hooks.buffer(max);
      return buffer.subarray(0, d.read(fd, buffer));
    },
    writeNext: (fd: number, data: string): void => d.writeAll(fd, encoder.encode(data)),

    // Descriptors of one attempt (FileHandle).
    open: (path: string, mode: OpenMode): { fd: number; noatime: boolean } => {
      const flags = (mode === "read" ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_NONBLOCK;
      try {
        return { fd: d.open(path, flags | O_NOATIME), noatime: true };
      } catch (err) {
        // O_NOATIME needs ownership (or CAP_FOWNER): EPERM on someone else's file.
        if (errorCode(err) !== "EPERM") throw err;
        return { fd: d.open(path, flags), noatime: false };
      }
    },
    fstat: (fd: number): FileStat => statxOf(libc, { fd, path: "" }, { follow: true, op: "stat" }),
    fgetxattr: (fd: number, name: string): Uint8Array | null => xattr.get(fdTarget(fd), name),
    fsetxattr: (fd: number, name: string, value: Uint8Array, mode: XattrMode): void =>
      xattr.set(fdTarget(fd), name, value, mode),
    fremovexattr: (fd: number, name: string): boolean => xattr.remove(fdTarget(fd), name),
    flistxattr: (fd: number): string[] => xattr.list(fdTarget(fd)),
    pread: (fd: number, offset: number, length: number): Uint8Array =>
      preadFully(fd, offset, length),
    md5: (fd: number, offset: number, length: number): Uint8Array =>
      new Uint8Array(hashRange(fd, offset, length).digest()),
    ftruncate: (fd: number, size: number): void => d.ftruncate(fd, size),
    pwrite: (fd: number, offset: number, bytes: Uint8Array): void =>
      d.pwriteAll(fd, bytes, offset, hooks.progress),
    futimens: (fd: number, atimeNs: string | null, mtimeNs: string): void =>
      setTimes(libc, { fd, path: "" }, atimeNs ?? undefined, mtimeNs),
    fsync: (fd: number): void => d.fsync(fd),
    // Never a blocking flock: a thread waiting for a lock would look like a hung mount.
    flockTry: (fd: number): boolean => d.tryLockExclusive(fd),
    close: (fd: number): void => d.close(fd),
    /** Closes a stream's descriptor, fsyncing it first when asked (a writer's close). */
    closeStream: (fd: number, sync: boolean): void => {
      try {
        if (sync) d.fsync(fd);
      } finally {
        d.close(fd);
      }
    },
  };
  // A compound call's bytes travel inside its result: a buffer of their own, never the scratch.
  const readWhole = (fd: number, length: number) =>
    preadFully(fd, 0, length, new Uint8Array(length));
  return { ...ops, ...compoundOps({ ...ops, readWhole }, hooks.progress) };
}

export type MountOps = ReturnType<typeof createMountOps>;
export type OpName = keyof MountOps;
