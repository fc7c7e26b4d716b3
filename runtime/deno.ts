/** The Deno runtime: node:fs for files, Deno.dlopen to libc for xattrs (needs --allow-ffi). */
import { errnoName, FsError } from "./errors.ts";
import { nodeFs } from "./node_fs.ts";
import { hasher, md5, md5File, md5Range } from "./node_hash.ts";
import { createNodeProcess } from "./node_process.ts";
import type { FetchHandler, FileKind, FileStat, HttpServer, Runtime, RuntimeFs } from "./types.ts";
import { cString } from "./xattr_codec.ts";
import { xattrOverLibc } from "./xattr_libc.ts";

// biome-ignore lint/suspicious/noExplicitAny: Deno's global is absent from Bun's type definitions.
const DenoNs = (globalThis as any).Deno;

const libc = DenoNs.dlopen("libc.so.6", {
  getxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  setxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  removexattr: { parameters: ["buffer", "buffer"], result: "i32" },
  listxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;

function errno(): number {
  const location = libc.__errno_location();
  return location === null ? 0 : new DenoNs.UnsafePointerView(location).getInt32(0);
}

const xattr = xattrOverLibc({
  getxattr: (path, name, value, size) => Number(libc.getxattr(path, name, value, BigInt(size))),
  setxattr: (path, name, value, size, flags) =>
    libc.setxattr(path, name, value, BigInt(size), flags),
  removexattr: (path, name) => libc.removexattr(path, name),
  listxattr: (path, list, size) => Number(libc.listxattr(path, list, BigInt(size))),
  errno,
});

// Deno's stat (and its node:fs bigint stat) rounds mtime to milliseconds; the protocol compares
// nanoseconds with states that Bun wrote, so read them exactly with statx(2).
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;

function kindOf(mode: number): FileKind {
  const type = mode & 0o170000;
  if (type === 0o100000) return "file";
  if (type === 0o040000) return "dir";
  if (type === 0o120000) return "symlink";
  return "other";
}

function statx(path: string, flags: number, op: string): FileStat {
  const buffer = new Uint8Array(256);
  if (libc.statx(AT_FDCWD, cString(path), flags, STATX_BASIC_STATS, buffer) !== 0) {
    throw new FsError(errnoName(errno()), op, path);
  }
  const view = new DataView(buffer.buffer);
  const seconds = view.getBigInt64(112, true);
  const nanos = BigInt(view.getUint32(120, true));
  return {
    kind: kindOf(view.getUint16(28, true)),
    ino: view.getBigUint64(32, true).toString(),
    size: Number(view.getBigUint64(40, true)),
    mtimeNs: (seconds * 1_000_000_000n + nanos).toString(),
  };
}

const fs: RuntimeFs = {
  ...nodeFs,
  stat: async (path) => statx(path, 0, "stat"),
  lstat: async (path) => statx(path, AT_SYMLINK_NOFOLLOW, "lstat"),
};

export function createRuntime(): Runtime {
  return { name: "deno", fs, xattr, process: createNodeProcess(), md5, md5File, md5Range, hasher };
}

/** Serves `fetch` with Deno.serve on hostname:port (port 0: a free one). */
export function serveHttp(
  fetch: FetchHandler,
  options: { hostname: string; port: number },
): HttpServer {
  const server = DenoNs.serve(
    { hostname: options.hostname, port: options.port, onListen() {} },
    fetch,
  );
  return { port: server.addr.port, hostname: options.hostname, stop: () => server.shutdown() };
}
