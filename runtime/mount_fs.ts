/**
 * RuntimeFs, RuntimeXattr and the file hashes over the mount pool: every call on the shared
 * mount (spool and source tree) runs on a worker thread within the mount deadline. Streams
 * (readLines, openWriter) hold a descriptor and move one chunk per call.
 */
import { Descriptor } from "./descriptor.ts";
import { splitLines } from "./lines.ts";
import type { MountPool } from "./mount_pool.ts";
import type { FileWriter, RuntimeFs, RuntimeXattr } from "./types.ts";

/** Bytes per readLines call. */
const LINE_CHUNK = 64 * 1024;
/** Reads above this size are long calls (they leave a thread free for metadata calls). */
const BULK_BYTES = 1024 * 1024;
const pair = (from: string, to: string) => `${from}" to "${to}`;

export function mountFs(pool: MountPool): RuntimeFs {
  async function* chunks(d: Descriptor): AsyncIterable<Uint8Array> {
    for (;;) {
      const chunk = await d.call("readNext", [d.fd, LINE_CHUNK], { op: "read" });
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  return {
    stat: (path) => pool.call("stat", [path], { op: "stat", path }),
    lstat: (path) => pool.call("lstat", [path], { op: "lstat", path }),
    exists: (path) => pool.call("exists", [path], { op: "stat", path }),
    readDir: (path) => pool.call("readDir", [path], { op: "list", path }),
    async *readLines(path, options) {
      const fd = await pool.call("openRead", [path], { op: "open", path });
      const d = new Descriptor(pool, fd, path);
      try {
        yield* splitLines(chunks(d), path, options?.maxLineBytes ?? 1024 * 1024);
      } finally {
        await d.close().catch(() => {});
      }
    },
    readText: (path) => pool.call("readText", [path], { op: "read", path }),
    readRange: (path, offset, length) =>
      pool.call("readRange", [path, offset, length], {
        op: "read",
        path,
        bulk: length > BULK_BYTES,
      }),
    async readInto(path, offset, target) {
      const bytes = await pool.call("readRange", [path, offset, target.length], {
        op: "read",
        path,
        bulk: target.length > BULK_BYTES,
        into: target,
      });
      return bytes.length;
    },
    writeDurable: (path, data) => pool.call("writeDurable", [path, data], { op: "write", path }),
    createExclusive: (path, data) =>
      pool.call("createExclusive", [path, data], { op: "create", path }),
    appendDurable: (path, data) =>
      pool.call("appendDurable", [path, data], { op: "append to", path }),
    async openWriter(path): Promise<FileWriter> {
      const fd = await pool.call("openWrite", [path], { op: "open", path });
      const d = new Descriptor(pool, fd, path, { op: "closeStream", sync: true });
      return {
        write: (text) => d.call("writeNext", [fd, text], { op: "write" }),
        close: () => d.close(),
      };
    },
    rename: (from, to) => pool.call("rename", [from, to], { op: "rename", path: pair(from, to) }),
    link: (from, to) => pool.call("link", [from, to], { op: "link", path: pair(from, to) }),
    copyFile: (from, to) =>
      pool.call("copyFile", [from, to], { op: "copy", path: pair(from, to), bulk: true }),
    mkdirp: (path) => pool.call("mkdirp", [path], { op: "create directory", path }),
    remove: (path) => pool.call("remove", [path], { op: "remove", path }),
    removeTree: (path) => pool.call("removeTree", [path], { op: "remove", path }),
    syncDir: (path) => pool.call("syncDir", [path], { op: "sync", path }),
  };
}

export function mountXattr(pool: MountPool): RuntimeXattr {
  return {
    get: (path, name) => pool.call("xattrGet", [path, name], { op: "read", path, attr: name }),
    set: (path, name, value, mode) =>
      pool.call("xattrSet", [path, name, value, mode], { op: "write", path, attr: name }),
    remove: (path, name) =>
      pool.call("xattrRemove", [path, name], { op: "remove", path, attr: name }),
    list: (path) => pool.call("xattrList", [path], { op: "list", path, attr: "*" }),
  };
}

/** Hashes computed on the worker that reads the bytes (they never cross to the main thread). */
export function mountHashes(pool: MountPool) {
  return {
    md5File: (path: string): Promise<string> =>
      pool.call("md5File", [path], { op: "hash", path, bulk: true }),
    md5Range: (path: string, offset: number, size: number): Promise<Uint8Array> =>
      pool.call("md5Range", [path, offset, size], { op: "hash", path, bulk: true }),
  };
}
