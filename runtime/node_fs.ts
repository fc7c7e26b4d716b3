/**
 * The file system half of the Runtime, on node:fs, which both Bun and Deno implement natively.
 * Kept in runtime/ so that jobs never import node: modules themselves.
 */
import { type BigIntStats, constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { fsError, isNotFound, wrap } from "./errors.ts";
import { readLines } from "./node_lines.ts";
import type { FileKind, FileStat, FileWriter, RuntimeFs } from "./types.ts";

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

async function writeAndSync(path: string, flags: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(path, flags, 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
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
