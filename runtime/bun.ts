/** The Bun runtime: node:fs for files, bun:ffi to libc for xattrs. */
import { dlopen, FFIType, read } from "bun:ffi";
import { xattrError } from "./errors.ts";
import { hasher, md5, md5File, nodeFs } from "./node_fs.ts";
import { createNodeProcess } from "./node_process.ts";
import type { FetchHandler, HttpServer, Runtime, RuntimeXattr } from "./types.ts";
import {
  cString,
  ENODATA,
  ERANGE,
  modeFlags,
  parseNameList,
  XATTR_SIZE_MAX,
} from "./xattr_codec.ts";

const { ptr, i64, i32, u64 } = FFIType;
const libc = dlopen("libc.so.6", {
  getxattr: { args: [ptr, ptr, ptr, u64], returns: i64 },
  setxattr: { args: [ptr, ptr, ptr, u64, i32], returns: i32 },
  removexattr: { args: [ptr, ptr], returns: i32 },
  listxattr: { args: [ptr, ptr, u64], returns: i64 },
  __errno_location: { args: [], returns: ptr },
}).symbols;

// Read right after the failing call, on the same thread, before anything else can touch errno.
function errno(): number {
  const location = libc.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

const EMPTY = new Uint8Array(1);

const xattr: RuntimeXattr = {
  async get(path, name) {
    let size = 4096;
    for (;;) {
      const buffer = new Uint8Array(size);
      const n = Number(libc.getxattr(cString(path), cString(name), buffer, size));
      if (n >= 0) return buffer.slice(0, n);
      const code = errno();
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
    if (rc !== 0) throw xattrError(errno(), "write", path, name);
  },
  async remove(path, name) {
    if (libc.removexattr(cString(path), cString(name)) === 0) return true;
    const code = errno();
    if (code === ENODATA) return false;
    throw xattrError(code, "remove", path, name);
  },
  async list(path) {
    const buffer = new Uint8Array(XATTR_SIZE_MAX);
    const n = Number(libc.listxattr(cString(path), buffer, XATTR_SIZE_MAX));
    if (n < 0) throw xattrError(errno(), "list", path, "*");
    return parseNameList(buffer, n);
  },
};

export function createRuntime(): Runtime {
  return { name: "bun", fs: nodeFs, xattr, process: createNodeProcess(), md5, md5File, hasher };
}

/** Serves `fetch` with Bun.serve on hostname:port (port 0: a free one). */
export function serveHttp(
  fetch: FetchHandler,
  options: { hostname: string; port: number },
): HttpServer {
  const server = Bun.serve({ fetch, hostname: options.hostname, port: options.port });
  return {
    port: server.port ?? options.port,
    hostname: options.hostname,
    stop: async () => {
      await server.stop(true);
    },
  };
}
