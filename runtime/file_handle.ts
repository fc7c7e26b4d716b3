/** FileHandle: one open file description on the shared mount, every call on the mount's threads. */
import { Descriptor } from "./descriptor.ts";
import type { MountPool } from "./mount_pool.ts";
import type { FileHandle, FileStat, OpenMode, XattrMode } from "./types.ts";

/** Reads above this size are long calls (they leave a thread free for metadata calls). */
const BULK_BYTES = 1024 * 1024;

export async function openFile(pool: MountPool, path: string, mode: OpenMode): Promise<FileHandle> {
  const { fd, noatime } = await pool.call("open", [path, mode], { op: "open", path });
  return new PooledFileHandle(new Descriptor(pool, fd, path), mode, noatime);
}

class PooledFileHandle implements FileHandle {
  readonly path: string;

  constructor(
    private readonly d: Descriptor,
    readonly mode: OpenMode,
    readonly noatime: boolean,
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
