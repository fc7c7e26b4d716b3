/** FileHandle: one open file description on the shared mount, every call on the mount's threads. */
import { Descriptor } from "./descriptor.ts";
import { errorCode } from "./errors.ts";
import type { CallMeta } from "./mount_calls.ts";
import { toError } from "./mount_calls.ts";
import type { Step } from "./mount_compound.ts";
import type { MountPool } from "./mount_pool.ts";
import type { FileHandle, FileStat, OpenMode, XattrMode } from "./types.ts";

/** Reads above this size are long calls (they leave a thread free for metadata calls). */
const BULK_BYTES = 1024 * 1024;

/** The value of one call of a compound call, or its error as that call alone would throw it. */
function resultOf<T>(step: Step<T> | null, meta: CallMeta): T {
  if (!step) throw new Error(`Internal: ${meta.op} "${meta.path}" did not run`);
  if (step.ok) return step.value;
  throw toError(step.error, meta);
}

export async function openFile(
  pool: MountPool,
  path: string,
  mode: OpenMode,
  look: boolean,
): Promise<FileHandle> {
  if (!look) {
    const { fd, noatime } = await pool.call("open", [path, mode], { op: "open", path });
    return new PooledFileHandle(new Descriptor(pool, fd, path), mode, noatime, null);
  }
  const r = await pool.call("openLook", [path, mode], { op: "open", path });
  const opened: FileHandle["opened"] = {
    stat: async () => resultOf(r.stat, { op: "stat", path }),
    names: r.names && (async () => resultOf(r.names, { op: "list", path, attr: "*" })),
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
    const r = await this.d.call("createXattrThenList", [this.d.fd, name, value], {
      op: "write",
      attr: name,
    });
    resultOf(r.created, { op: "write", path, attr: name });
    return resultOf(r.names, { op: "list", path, attr: "*" });
  }

  async statWithPath(): Promise<{ stat: FileStat; atPath: FileStat | null }> {
    const { path } = this;
    const r = await this.d.call("fstatThenLstat", [this.d.fd, path], { op: "stat" });
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
    const r = await this.d.call("fstatThenRead", [this.d.fd, max], { op: "stat" });
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
