/**
 * The file system half of the Runtime, on node:fs, which both Bun and Deno implement natively.
 * Kept in runtime/ so that jobs never import node: modules themselves.
 */
import { createHash } from "node:crypto";
import { type BigIntStats, constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { errorCode, FsError, fsErrorCode, isNotFound } from "./errors.ts";
import type { FileKind, FileStat, FileWriter, Hasher, RuntimeFs } from "./types.ts";

const CHUNK = 64 * 1024;

function kindOf(s: BigIntStats): FileKind {
  if (s.isFile()) return "file";
  if (s.isDirectory()) return "dir";
  if (s.isSymbolicLink()) return "symlink";
  return "other";
}

function toStat(s: BigIntStats): FileStat {
  return {
    kind: kindOf(s),
    size: Number(s.size),
    mtimeNs: s.mtimeNs.toString(),
    ino: s.ino.toString(),
  };
}

function fsError(err: unknown, op: string, path: string): FsError {
  return new FsError(fsErrorCode(errorCode(err)), op, path, { cause: err });
}

async function wrap<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(err, op, path);
  }
}

async function writeAndSync(path: string, flags: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(path, flags, 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function* readLines(path: string, maxLineBytes: number): AsyncIterable<string> {
  const handle = await wrap("open", path, () => fsp.open(path, "r"));
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const buffer = new Uint8Array(CHUNK);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (let i = 0; i < bytesRead; i++) {
        if (buffer[i] !== 10) continue;
        const piece = buffer.slice(start, i);
        pending.push(piece);
        yield decodeLine(decoder, pending, path);
        pending = [];
        pendingBytes = 0;
        start = i + 1;
      }
      if (start < bytesRead) {
        pending.push(buffer.slice(start, bytesRead));
        pendingBytes += bytesRead - start;
        if (pendingBytes > maxLineBytes) {
          throw new FsError(
            "ELINETOOLONG",
            `read a line of at most ${maxLineBytes} bytes from`,
            path,
          );
        }
      }
    }
    if (pendingBytes > 0) yield decodeLine(decoder, pending, path);
  } finally {
    await handle.close();
  }
}

function decodeLine(decoder: TextDecoder, parts: Uint8Array[], path: string): string {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    joined.set(p, offset);
    offset += p.length;
  }
  try {
    return decoder.decode(joined);
  } catch (err) {
    throw fsError(Object.assign(err as object, { code: "EILSEQ" }), "decode UTF-8 in", path);
  }
}

export const nodeFs: RuntimeFs = {
  stat: (path) => wrap("stat", path, async () => toStat(await fsp.stat(path, { bigint: true }))),
  lstat: (path) => wrap("lstat", path, async () => toStat(await fsp.lstat(path, { bigint: true }))),
  readDir: (path) =>
    wrap("list", path, async () => {
      const entries = await fsp.readdir(path, { withFileTypes: true });
      return entries.map((e) => ({
        name: e.name,
        kind: e.isFile()
          ? "file"
          : e.isDirectory()
            ? "dir"
            : e.isSymbolicLink()
              ? "symlink"
              : "other",
      }));
    }),
  readLines: (path, options) => readLines(path, options?.maxLineBytes ?? 1024 * 1024),
  readText: (path) => wrap("read", path, () => fsp.readFile(path, "utf8")),
  readRange: (path, offset, length) =>
    wrap("read", path, async () => {
      const handle = await fsp.open(path, "r");
      try {
        const out = new Uint8Array(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(out, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === length ? out : out.subarray(0, got);
      } finally {
        await handle.close();
      }
    }),
  readInto: (path, offset, target) =>
    wrap("read", path, async () => {
      const handle = await fsp.open(path, "r");
      try {
        let got = 0;
        while (got < target.length) {
          const { bytesRead } = await handle.read(target, got, target.length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got;
      } finally {
        await handle.close();
      }
    }),
  writeDurable: (path, data) => wrap("write", path, () => writeAndSync(path, "w", data)),
  createExclusive: (path, data) => wrap("create", path, () => writeAndSync(path, "wx", data)),
  appendDurable: (path, data) =>
    wrap("append to", path, async () => {
      const handle = await fsp.open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
        0o644,
      );
      try {
        await handle.write(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }),
  openWriter: (path) =>
    wrap("open", path, async () => {
      const handle = await fsp.open(path, "w", 0o644);
      const writer: FileWriter = {
        write: (text) => wrap("write", path, async () => void (await handle.write(text))),
        close: () =>
          wrap("close", path, async () => {
            await handle.sync();
            await handle.close();
          }),
      };
      return writer;
    }),
  rename: (from, to) => wrap("rename", `${from}" to "${to}`, () => fsp.rename(from, to)),
  link: (from, to) => wrap("link", `${from}" to "${to}`, () => fsp.link(from, to)),
  copyFile: (from, to) => wrap("copy", `${from}" to "${to}`, () => fsp.copyFile(from, to)),
  mkdirp: (path) =>
    wrap("create directory", path, async () => void (await fsp.mkdir(path, { recursive: true }))),
  remove: (path) => wrap("remove", path, () => fsp.rm(path, { force: true })),
  removeTree: (path) => wrap("remove", path, () => fsp.rm(path, { force: true, recursive: true })),
  exists: async (path) => {
    try {
      await fsp.lstat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw fsError(err, "stat", path);
    }
  },
  syncDir: (path) =>
    wrap("sync", path, async () => {
      const handle = await fsp.open(path, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }),
};

export function md5(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("md5").update(data).digest());
}

export function hasher(algorithm: "sha256" | "md5"): Hasher {
  const hash = createHash(algorithm);
  return {
    update: (data) => void hash.update(data),
    hex: () => hash.digest("hex"),
  };
}

export async function md5File(path: string): Promise<string> {
  return (await hashRange(path, 0, Number.POSITIVE_INFINITY)).digest("hex");
}

export async function md5Range(path: string, offset: number, size: number): Promise<Uint8Array> {
  return new Uint8Array((await hashRange(path, offset, size)).digest());
}

/** MD5 of `size` bytes of a file from `offset` (fewer if the file ends first), streamed. */
function hashRange(path: string, offset: number, size: number) {
  return wrap("hash", path, async () => {
    const hash = createHash("md5");
    const handle = await fsp.open(path, "r");
    try {
      const buffer = new Uint8Array(Math.min(size, 1024 * 1024));
      for (let done = 0; done < size; ) {
        const want = Math.min(buffer.length, size - done);
        const { bytesRead } = await handle.read(buffer, 0, want, offset + done);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return hash;
  });
}
