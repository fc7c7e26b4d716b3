/**
 * What the pool knows about a call: its metadata, how its errors read, which calls share a batch,
 * where reads land, and which late results need cleaning up (mount_pool.ts runs them).
 */
import { FsError, type FsErrorCode, XattrError, XattrExistsError } from "./errors.ts";
import type { OpName } from "./mount_ops.ts";
import type { WireError } from "./mount_wire.ts";

/** How a call reads in errors, and what the pool must know about it. */
export interface CallMeta {
  /** The operation as messages name it: "stat", "read", "rename"... (for xattrs: read, write...) */
  op: string;
  path: string;
  /** The attribute, for XattrError. */
  attr?: string;
  /** A long call (hash, copy, big read): it never takes the last idle thread. */
  bulk?: boolean;
  /**
   * For a read: where its bytes go. The result is then `into.subarray(0, n)` (no new buffer);
   * without it a read resolves with a buffer of its own.
   */
  into?: Uint8Array;
  /**
   * Called once the call is over in its thread, or certain never to run: after its result, after
   * a late return, or on a fast failure. Not called for a call still stuck in the kernel.
   */
  done?: () => void;
}

export interface Call {
  id: number;
  op: OpName;
  args: unknown[];
  meta: CallMeta;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Metadata calls per batch: enough to amortise a wake-up, small enough to stay prompt. */
export const BATCH = 32;

/**
 * Reads land in the thread's scratch buffer when they fit (the argument index of their length):
 * the pool copies the bytes out before the thread takes another call. Allocating a fresh buffer
 * per read cost ~0.8 ms per MiB in page faults here, more than the read itself.
 */
export const READS: Partial<Record<OpName, number>> = { pread: 2, readRange: 2, readNext: 1 };
export const SCRATCH_MIN = 1024 * 1024;
/** Larger reads get a buffer of their own (transferred): scratch memory stays bounded. */
export const SCRATCH_MAX = 16 * 1024 * 1024;

/** Ops whose late result is a descriptor nobody will close: the pool closes it. */
export const OPENS: Partial<Record<OpName, (value: unknown) => number>> = {
  open: (value) => (value as { fd: number }).fd,
  openLook: (value) => (value as { fd: number }).fd,
  openRead: (value) => value as number,
  openWrite: (value) => value as number,
};

export function toError(error: WireError, meta: CallMeta): Error {
  if (error.kind === "xattr") {
    const code = error.code as FsErrorCode;
    const attr = meta.attr ?? error.attr;
    return code === "EEXIST"
      ? new XattrExistsError(code, meta.op, meta.path, attr)
      : new XattrError(code, meta.op, meta.path, attr);
  }
  if (error.kind === "fs") return new FsError(error.code as FsErrorCode, meta.op, meta.path);
  return new Error(`Unexpected error in ${meta.op} "${meta.path}": ${error.message}`);
}

/** Metadata calls share a batch; reads (one scratch buffer per thread) and long calls go alone. */
export function batchable(call: Call): boolean {
  return !call.meta.bulk && READS[call.op] === undefined;
}
