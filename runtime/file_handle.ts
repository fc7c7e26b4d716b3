/** FileHandle: one open file description on the shared mount, every call on the mount's threads. */

import { listingOf, markedOf, removedOf, resultOf, topOf } from "./compound_results.ts";
import { Descriptor } from "./descriptor.ts";
import { errorCode } from "./errors.ts";
import type { MountPool } from "./mount_pool.ts";
import type {
  FileHandle,
  FileStat,
  Listing,
  ListingReads,
  OpenMode,
  OpenOptions,
  StatWithXattr,
  XattrMode,
} from "./types.ts";

/** Reads above this size are long calls (they leave a thread free for metadata calls). */
const BULK_BYTES = 1024 * 1024;

export async function openFile(
  pool: MountPool,
  path: string,
  options: OpenOptions,
): Promise<FileHandle> {
  const { mode } = options;
  if (!options.look) {
    const { fd, noatime } = await pool.call("open", [path, mode], { op: "open", path });
    return new PooledFileHandle(new Descriptor(pool, fd, path), mode, noatime, null);
  }
  const look = options.look === true ? {} : options.look;
  const args = [path, mode, look.lock === true, look.top ?? null, look.mark ?? null] as const;
  const r = await pool.call("openLook", [...args], { op: "open", path });
  const opened: FileHandle["opened"] = {
    stat: async () => resultOf(r.stat, { op: "stat", path }),
    locked: r.locked && (async () => resultOf(r.locked, { op: "lock", path })),
    names: r.names && (async () => resultOf(r.names, { op: "list", path, attr: "*" })),
    top: r.names && (async () => topOf(r.top, path)),
    marked: markedOf(r.marked, path, look.mark),
  };
  return new PooledFileHandle(new Descriptor(pool, r.fd, path), mode, r.noatime, opened);
}

class PooledFileHandle implements FileHandle {
  readonly path: string;

  constructor(
    private readonly d: Descriptor,
    readonly mode: OpenMode,
    readonly noatime: boolean,
    readonly opened: FileHandle["opened"],
  ) {
    this.path = d.path;
  }

  stat(): Promise<FileStat> {
    return this.d.call("fstat", [this.d.fd], { op: "stat" });
  }

  getXattr(name: string): Promise<Uint8Array | null> {
    return this.d.call("fgetxattr", [this.d.fd, name], { op: "read", attr: name });
  }

  setXattr(name: string, value: Uint8Array, mode: XattrMode): Promise<void> {
    return this.d.call("fsetxattr", [this.d.fd, name, value, mode], { op: "write", attr: name });
  }

  removeXattr(name: string): Promise<boolean> {
    return this.d.call("fremovexattr", [this.d.fd, name], { op: "remove", attr: name });
  }

  listXattr(): Promise<string[]> {
    return this.d.call("flistxattr", [this.d.fd], { op: "list", attr: "*" });
  }

  async createXattrThenList(name: string, value: Uint8Array): Promise<string[]> {
    const { path } = this;
    // A compound call's own label (a deadline, a closed descriptor) names all of its calls;
    // each call's error is labelled as the call alone would be.
    const r = await this.d.call("createXattrThenList", [this.d.fd, name, value], {
      op: "create and list",
      attr: name,
    });
    resultOf(r.created, { op: "write", path, attr: name });
    return resultOf(r.names, { op: "list", path, attr: "*" });
  }

  async createXattrThenListTop(
    name: string,
    value: Uint8Array,
    { top, mark }: ListingReads,
  ): Promise<Listing> {
    const { path } = this;
    const r = await this.d.call(
      "createXattrThenList",
      [this.d.fd, name, value, top, mark ?? null],
      { op: mark ? "create, list, read and stat" : "create, list and read", attr: name },
    );
    resultOf(r.created, { op: "write", path, attr: name });
    return listingOf(r, path, mark);
  }

  async listTopThenStat(
    top: string,
    removeFirst: string[] = [],
  ): Promise<{ removed: boolean[]; listing: Listing; stat: FileStat }> {
    const { path } = this;
    const args = [this.d.fd, top, removeFirst] as const;
    const op = removeFirst.length > 0 ? "remove, list, read and stat" : "list, read and stat";
    const r = await this.d.call("listTopThenFstat", [...args], { op, attr: "*" });
    const removed = removedOf(r.removed, removeFirst, path);
    const listing = listingOf(r, path);
    return { removed, listing, stat: resultOf(r.stat, { op: "stat", path }) };
  }

  async statThenGetXattr(name: string): Promise<StatWithXattr> {
    const { path } = this;
    const r = await this.d.call("fstatThenGetXattr", [this.d.fd, name], { op: "stat and read" });
    const stat = resultOf(r.stat, { op: "stat", path });
    return { stat, value: resultOf(r.value, { op: "read", path, attr: name }) };
  }

  async removeXattrs(names: string[]): Promise<boolean[]> {
    if (names.length === 0) return [];
    const r = await this.d.call("removeXattrs", [this.d.fd, names], { op: "remove", attr: "*" });
    return removedOf(r, names, this.path);
  }

  async statWithPath(): Promise<{ stat: FileStat; atPath: FileStat | null }> {
    const { path } = this;
    const r = await this.d.call("fstatThenLstat", [this.d.fd, path], { op: "stat and lstat" });
    const stat = resultOf(r.stat, { op: "stat", path });
    try {
      return { stat, atPath: resultOf(r.atPath, { op: "lstat", path }) };
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return { stat, atPath: null };
      throw err;
    }
  }

  async statThenRead(max: number): Promise<{ stat: FileStat; head: Uint8Array | null }> {
    const { path } = this;
    const r = await this.d.call("fstatThenRead", [this.d.fd, max], { op: "stat and read" });
    const stat = resultOf(r.stat, { op: "stat", path });
    return { stat, head: r.head && resultOf(r.head, { op: "read", path }) };
  }

  async readInto(offset: number, target: Uint8Array): Promise<number> {
    const bulk = target.length > BULK_BYTES;
    const bytes = await this.d.call("pread", [this.d.fd, offset, target.length], {
      op: "read",
      bulk,
      into: target,
    });
    return bytes.length;
  }

  md5(offset: number, length: number): Promise<Uint8Array> {
    return this.d.call("md5", [this.d.fd, offset, length], { op: "hash", bulk: true });
  }

  truncate(size: number): Promise<void> {
    return this.d.call("ftruncate", [this.d.fd, size], { op: "truncate" });
  }

  write(offset: number, bytes: Uint8Array): Promise<void> {
    const bulk = bytes.length > BULK_BYTES;
    return this.d.call("pwrite", [this.d.fd, offset, bytes], { op: "write", bulk });
  }

  setTimes(atimeNs: string | undefined, mtimeNs: string): Promise<void> {
    return this.d.call("futimens", [this.d.fd, atimeNs ?? null, mtimeNs], {
      op: "set the times of",
    });
  }

  tryLock(): Promise<boolean> {
    return this.d.call("flockTry", [this.d.fd], { op: "lock" });
  }

  sync(): Promise<void> {
    return this.d.call("fsync", [this.d.fd], { op: "sync" });
  }

  close(): Promise<void> {
    return this.d.close();
  }
}
