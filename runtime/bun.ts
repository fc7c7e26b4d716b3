/** The Bun runtime: node:fs for files, bun:ffi to libc for xattrs. */
import { dlopen, FFIType, read } from "bun:ffi";
import { nodeFs } from "./node_fs.ts";
import { hasher, md5, md5File, md5Range } from "./node_hash.ts";
import { createNodeProcess } from "./node_process.ts";
import type { FetchHandler, HttpServer, Runtime } from "./types.ts";
import { xattrOverLibc } from "./xattr_libc.ts";

const { ptr, i64, i32, u64 } = FFIType;
const libc = dlopen("libc.so.6", {
  getxattr: { args: [ptr, ptr, ptr, u64], returns: i64 },
  setxattr: { args: [ptr, ptr, ptr, u64, i32], returns: i32 },
  removexattr: { args: [ptr, ptr], returns: i32 },
  listxattr: { args: [ptr, ptr, u64], returns: i64 },
  __errno_location: { args: [], returns: ptr },
}).symbols;

const xattr = xattrOverLibc({
  getxattr: (path, name, value, size) => Number(libc.getxattr(path, name, value, size)),
  setxattr: (path, name, value, size, flags) => libc.setxattr(path, name, value, size, flags),
  removexattr: (path, name) => libc.removexattr(path, name),
  listxattr: (path, list, size) => Number(libc.listxattr(path, list, size)),
  errno() {
    const location = libc.__errno_location();
    return location === null ? 0 : read.i32(location, 0);
  },
});

export function createRuntime(): Runtime {
  return {
    name: "bun",
    fs: nodeFs,
    xattr,
    process: createNodeProcess(),
    md5,
    md5File,
    md5Range,
    hasher,
    // Bun's fetch reads a file-backed Blob as it sends: large bodies are never copied into the
    // heap (a bare SDK loop over W3's files: 320 -> 104 MiB peak RSS, 80 -> 105 MiB/s).
    fileBody: (path, offset, size) => Bun.file(path).slice(offset, offset + size),
  };
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
