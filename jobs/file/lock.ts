/**
 * The file's lock, `user.tiermv.lock`, created with XATTR_CREATE: atomic on the metadata server,
 * so exactly one attempt holds it (I3). It is removed only by its own attempt, by that attempt's
 * rollback, or by recover, each after reading it and checking the attempt id.
 */
import * as v from "valibot";
import { XattrExistsError } from "../../runtime/errors.ts";
import type { Runtime, RuntimeProcess } from "../../runtime/types.ts";
import type { FileOutcome } from "./outcome.ts";
import { readRecord, writeRecord, XattrPayloadError } from "./xattr_record.ts";

export const LOCK_ATTR = "user.tiermv.lock";

export const LockSchema = v.object({
  v: v.literal(1),
  node: v.string(),
  task: v.string(),
  attempt: v.string(),
  pid: v.number(),
  host: v.string(),
  boot: v.string(),
  at: v.string(),
});
export type Lock = v.InferOutput<typeof LockSchema>;

/** The lock of a new attempt by this process (host, boot and pid say whether it is alive). */
export function newLock(fields: {
  node: string;
  task: string;
  attempt: string;
  process: RuntimeProcess;
}): Lock {
  const { node, task, attempt, process } = fields;
  const { pid, hostname: host, bootId: boot } = process;
  return { v: 1, node, task, attempt, pid, host, boot, at: new Date().toISOString() };
}

export function readLock(rt: Runtime, path: string): Promise<Lock | null> {
  return readRecord(rt, path, LOCK_ATTR, LockSchema);
}

/** The lock, or null when there is none or it is unreadable (for callers that only look). */
export async function readLockIfReadable(rt: Runtime, path: string): Promise<Lock | null> {
  try {
    return await readLock(rt, path);
  } catch (err) {
    if (err instanceof XattrPayloadError) return null;
    throw err;
  }
}

export type LockResult =
  | { acquired: true }
  /** `holder` is null when the lock vanished since, or its payload is unreadable (`why`). */
  | { acquired: false; holder: Lock | null; why?: string };

/** Takes the lock with XATTR_CREATE: atomic on the metadata server, exactly one attempt wins. */
export async function tryLock(rt: Runtime, path: string, lock: Lock): Promise<LockResult> {
  try {
    await writeRecord(rt, path, LOCK_ATTR, { value: lock, mode: "create" });
    return { acquired: true };
  } catch (err) {
    if (!(err instanceof XattrExistsError)) throw err;
  }
  try {
    return { acquired: false, holder: await readLock(rt, path) };
  } catch (err) {
    if (!(err instanceof XattrPayloadError)) throw err;
    return { acquired: false, holder: null, why: err.message };
  }
}

/**
 * Removes the lock only if it is the one of `attempt`: a lock is released by its own attempt, by
 * that attempt's rollback, or by recover, never by anybody else. Returns whether it removed it.
 */
export async function releaseLock(rt: Runtime, path: string, attempt: string): Promise<boolean> {
  let current: Lock | null;
  try {
    current = await readLock(rt, path);
  } catch (err) {
    // An unreadable lock is nobody's attempt we know: never ours to remove.
    if (err instanceof XattrPayloadError) return false;
    throw err;
  }
  if (current?.attempt !== attempt) return false;
  return rt.xattr.remove(path, LOCK_ATTR);
}

/** A failed attempt keeps its lock until rollback; every other outcome gives it up. */
export function keepsLock(outcome: FileOutcome): boolean {
  return outcome.kind === "failed";
}

/**
 * Runs `body` while `attempt` holds the lock of `path` (taken by the caller). Its exit releases
 * the lock unless the outcome keeps it (failed). If `body` throws, the lock stays: the caller
 * journals the attempt, so that rollback frees it.
 */
export async function withLock(
  rt: Runtime,
  held: { path: string; attempt: string },
  body: () => Promise<FileOutcome>,
): Promise<FileOutcome> {
  const outcome = await body();
  if (!keepsLock(outcome)) await releaseLock(rt, held.path, held.attempt);
  return outcome;
}

/** A lock this node left behind in an earlier process on this host that is now dead. */
export function isOwnStaleLock(
  lock: Lock,
  own: { node: string; process: RuntimeProcess },
): boolean {
  const proc = own.process;
  if (lock.node !== own.node || lock.host !== proc.hostname) return false;
  return lock.boot !== proc.bootId || (lock.pid !== proc.pid && !proc.isAlive(lock.pid));
}
