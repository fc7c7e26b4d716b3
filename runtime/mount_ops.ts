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
import { type Libc, setTimes, statxOf } from "./libc_file.ts";
import type { DirEntry, FileKind, FileStat, OpenMode, XattrMode } from "./types.ts";
import { xattrCalls } from "./xattr_libc.ts";

/** What a long call reports while it makes progress (each report restarts its deadline). */
export interface OpHooks {
  progress(): void;
}

const { O_RDONLY, O_RDWR, O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
// Linux's value; node:fs exports it on Linux, where alone this runs.
const O_NOATIME = fs.constants.O_NOATIME ?? 0o1000000;
/** Reads and hashes go in chunks of this size, reporting progress after each. */
const CHUNK = 1024 * 1024;
const encoder = new TextEncoder();

function kindOf(entry: fs.Dirent): FileKind {
  if (entry.isFile()) return "file";
  if (entry.isDirectory()) return "dir";
  if (entry.isSymbolicLink()) return "symlink";
  return "other";
}

export function createMountOps(libc: Libc, hooks: OpHooks) {
  const xattr = xattrCalls(libc);
  const fdTarget = (fd: number) => ({ fd, path: "" });

  /** pread until `length` bytes or end of file. */
  function preadFully(fd: number, offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const want = Math.min(CHUNK, length - got);
      const n = fs.readSync(fd, out, got, want, offset + got);
      if (n === 0) break;
      got += n;
      hooks.progress();
    }
    return got === length ? out : out.subarray(0, got);
  }

  function hashRange(fd: number, offset: number, length: number): Hash {
    const hash = createHash("md5");
    const buffer = new Uint8Array(Math.min(CHUNK, Math.max(length, 1)));
    for (let done = 0; done < length; ) {
      const want = Math.min(buffer.length, length - done);
      const n = fs.readSync(fd, buffer, 0, want, offset + done);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      done += n;
      hooks.progress();
    }
    return hash;
  }

  function withFd<T>(path: string, flags: number | string, fn: (fd: number) => T): T {
    const fd = fs.openSync(path, flags, 0o644);
    try {
      return fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  function writeAll(fd: number, data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    for (let done = 0; done < bytes.length; ) {
      done += fs.writeSync(fd, bytes, done, bytes.length - done);
    }
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

  return {
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
      withFd(path, "w", (fd) => {
        writeAll(fd, data);
        fs.fsyncSync(fd);
      }),
    createExclusive: (path: string, data: string | Uint8Array): void =>
      withFd(path, "wx", (fd) => {
        writeAll(fd, data);
        fs.fsyncSync(fd);
      }),
    // One write(2) with O_APPEND: concurrent appenders never interleave a line.
    appendDurable: (path: string, data: string): void =>
      withFd(path, O_WRONLY | O_CREAT | O_APPEND, (fd) => {
        const bytes = encoder.encode(data);
        const n = fs.writeSync(fd, bytes);
        if (n !== bytes.length) throw Object.assign(new Error("short append"), { code: "EIO" });
        fs.fsyncSync(fd);
      }),
    rename: (from: string, to: string): void => fs.renameSync(from, to),
    link: (from: string, to: string): void => fs.linkSync(from, to),
    // In chunks with progress: a large copy is not a hung mount.
    copyFile: (from: string, to: string): void =>
      withFd(from, O_RDONLY, (input) =>
        withFd(to, "w", (output) => {
          const buffer = new Uint8Array(CHUNK);
          for (let offset = 0; ; ) {
            const n = fs.readSync(input, buffer, 0, buffer.length, offset);
            if (n === 0) break;
            writeAll(output, buffer.subarray(0, n));
            offset += n;
            hooks.progress();
          }
        }),
      ),
    mkdirp: (path: string): void => void fs.mkdirSync(path, { recursive: true }),
    remove: (path: string): void => fs.rmSync(path, { force: true }),
    removeTree: (path: string): void => fs.rmSync(path, { force: true, recursive: true }),
    syncDir: (path: string): void => withFd(path, O_RDONLY, (fd) => fs.fsyncSync(fd)),
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
    openRead: (path: string): number => fs.openSync(path, O_RDONLY),
    openWrite: (path: string): number => fs.openSync(path, "w", 0o644),
    readNext: (fd: number, max: number): Uint8Array => {
      const buffer = new Uint8Array(max);
      return buffer.subarray(0, fs.readSync(fd, buffer, 0, max, null));
    },
    writeNext: (fd: number, data: string): void => writeAll(fd, data),

    // Descriptors of one attempt (FileHandle).
    open: (path: string, mode: OpenMode): { fd: number; noatime: boolean } => {
      const flags = (mode === "read" ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_NONBLOCK;
      try {
        return { fd: fs.openSync(path, flags | O_NOATIME), noatime: true };
      } catch (err) {
        // O_NOATIME needs ownership (or CAP_FOWNER): EPERM on someone else's file.
        if (errorCode(err) !== "EPERM") throw err;
        return { fd: fs.openSync(path, flags), noatime: false };
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
    ftruncate: (fd: number, size: number): void => fs.ftruncateSync(fd, size),
    pwrite: (fd: number, offset: number, bytes: Uint8Array): void => {
      for (let done = 0; done < bytes.length; ) {
        done += fs.writeSync(fd, bytes, done, bytes.length - done, offset + done);
        hooks.progress();
      }
    },
    futimens: (fd: number, atimeNs: string | null, mtimeNs: string): void =>
      setTimes(libc, { fd, path: "" }, atimeNs ?? undefined, mtimeNs),
    fsync: (fd: number): void => fs.fsyncSync(fd),
    close: (fd: number): void => fs.closeSync(fd),
    /** Closes a stream's descriptor, fsyncing it first when asked (a writer's close). */
    closeStream: (fd: number, sync: boolean): void => {
      try {
        if (sync) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

export type MountOps = ReturnType<typeof createMountOps>;
export type OpName = keyof MountOps;
