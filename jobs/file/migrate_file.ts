/**
 * The per-file protocol of BRIEF section 5: stat -> lock (XATTR_CREATE) -> re-stat and re-read
 * state under the lock -> upload -> verify -> commit state -> unlock. Failures are values; a
 * failed upload keeps its lock and is journalled for the rollback job (never rolled back here).
 */
import { isNotFound } from "../../runtime/errors.ts";
import type { FileStat } from "../../runtime/types.ts";
import type { JobContext } from "../context/job_context.ts";
import { appendJournal, type JournalEntry } from "../spool/journal.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { type Target, TargetError } from "../targets/target.ts";
import { deadline, delay } from "../util/async.ts";
import { crashPoint } from "../util/crash_points.ts";
import { MountUnavailableError } from "../util/errors.ts";
import { newAttemptId } from "../util/ids.ts";
import { relativeToRoot } from "../util/paths.ts";
import type { FileOutcome } from "./outcome.ts";
import { rollbackEntry } from "./rollback_entry.ts";
import {
  type Lock,
  readLock,
  readState,
  releaseLock,
  type State,
  stateMatches,
  tryLock,
  writeState,
  XattrPayloadError,
} from "./state.ts";

export interface FileJob extends JobContext {
  node: string;
  dirs: NodeDirs;
  task: { id: string; requestId: string; retry: number };
  target: Target;
  /** Paths this process is migrating right now: a duplicate entry is busy, not a second upload. */
  inFlight: Set<string>;
}

const sameVersion = (a: FileStat, b: FileStat) =>
  a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino;

/** lstat with a deadline: a hung mount must not hang the scheduler. Null when the file is gone. */
async function statFile(job: FileJob, path: string): Promise<FileStat | null> {
  const timeoutMs = job.config.migrate.statTimeoutMs;
  try {
    return await deadline(job.rt.fs.lstat(path), timeoutMs, {
      onTimeout: () => new MountUnavailableError(path, timeoutMs),
    });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** A lock this node left behind in an earlier process on this host that is now dead. */
function isOwnStaleLock(job: FileJob, lock: Lock): boolean {
  const proc = job.rt.process;
  if (lock.node !== job.node || lock.host !== proc.hostname) return false;
  return lock.boot !== proc.bootId || (lock.pid !== proc.pid && !proc.isAlive(lock.pid));
}

function journalEntry(
  job: FileJob,
  path: string,
  key: string,
  attempt: string,
  error: string,
): JournalEntry {
  return {
    v: 1,
    path,
    attempt,
    key,
    target: job.target.url,
    node: job.node,
    task: job.task.id,
    requestId: job.task.requestId,
    error,
    tries: job.task.retry + 1,
    at: new Date().toISOString(),
  };
}

function skipped(path: string, state: State, taskId: string): FileOutcome {
  const { key, etag, size: bytes, attempt } = state;
  return { kind: "skipped", path, key, etag, bytes, attempt, ownTask: state.task === taskId };
}

/**
 * Resolves a lock left by this node's own crashed run: if that attempt's object is complete and
 * matches the file, commit it; otherwise roll the attempt back through the journal path.
 */
async function resolveOwnStaleLock(
  job: FileJob,
  path: string,
  lock: Lock,
  key: string,
  stat: FileStat,
) {
  const object = await job.target.head(key);
  const meta = object?.meta;
  if (
    object &&
    meta?.attempt === lock.attempt &&
    meta.size === stat.size &&
    meta.mtimeNs === stat.mtimeNs &&
    meta.ino === stat.ino
  ) {
    // Recorded under the current task: if this run dies before its events are written, this
    // task is resumed, finds its own commit and emits the event then.
    const state = newState(job, key, object.etag, stat, lock.attempt, job.task.id);
    await writeState(job.rt, path, state);
    await releaseLock(job.rt, path, lock.attempt);
    return { committed: state };
  }
  const entry = {
    ...journalEntry(job, path, key, lock.attempt, "attempt interrupted by a crash"),
    task: lock.task,
  };
  await appendJournal(job.rt, job.dirs, entry);
  await rollbackEntry(job, entry);
  return { committed: null };
}

function newState(
  job: FileJob,
  key: string,
  etag: string,
  stat: FileStat,
  attempt: string,
  task: string,
): State {
  const { size, mtimeNs, ino } = stat;
  const at = new Date().toISOString();
  return {
    v: 1,
    state: "migrated",
    target: job.target.url,
    key,
    etag,
    size,
    mtimeNs,
    ino,
    attempt,
    node: job.node,
    task,
    at,
  };
}

async function uploadWithRetry(
  job: FileJob,
  key: string,
  path: string,
  stat: FileStat,
  attempt: string,
) {
  const { uploadRetries, uploadRetryBaseMs } = job.config.migrate;
  const meta = { attempt, size: stat.size, mtimeNs: stat.mtimeNs, ino: stat.ino };
  for (let tryNumber = 0; ; tryNumber++) {
    try {
      return await job.target.put(key, { path, size: stat.size }, meta, job.signal);
    } catch (err) {
      const retryable = err instanceof TargetError && err.kind === "transient";
      if (!retryable || tryNumber >= uploadRetries) throw err;
      job.log.warn(`Retrying upload of "${path}" after: ${(err as Error).message}`);
      await delay(uploadRetryBaseMs * 2 ** tryNumber, { signal: job.signal });
      // Stopping: this attempt fails as it is (journalled, lock kept) instead of retrying.
      if (job.signal?.aborted) throw err;
    }
  }
}

/** Migrates one file. Throws only for failures of the program (mount unavailable, bugs). */
export async function migrateFile(job: FileJob, path: string): Promise<FileOutcome> {
  const rel = relativeToRoot(job.config.root, path);
  if (rel === null)
    return {
      kind: "rejected",
      path,
      error: `"${path}" is not under the source root ${job.config.root}`,
    };
  if (job.inFlight.has(path)) return { kind: "busy", path, holder: `this process (${job.node})` };
  job.inFlight.add(path);
  try {
    return await migrateLocked(job, path, job.target.keyFor(rel));
  } finally {
    job.inFlight.delete(path);
  }
}

async function readLockIfReadable(job: FileJob, path: string): Promise<Lock | null> {
  try {
    return await readLock(job.rt, path);
  } catch (err) {
    if (err instanceof XattrPayloadError) return null;
    throw err;
  }
}

async function readStateOrReject(job: FileJob, path: string): Promise<State | null | FileOutcome> {
  try {
    return await readState(job.rt, path);
  } catch (err) {
    if (err instanceof XattrPayloadError) return { kind: "rejected", path, error: err.message };
    throw err;
  }
}

/**
 * Benchmark-only (TIERMV_BENCH_NO_XATTR=1): stat and upload without any xattr, lock or state, to
 * measure what the protocol costs. Never safe for real use: nothing is committed.
 */
async function uploadWithoutProtocol(
  job: FileJob,
  path: string,
  key: string,
): Promise<FileOutcome> {
  const stat = await statFile(job, path);
  if (!stat) return { kind: "vanished", path };
  const attempt = newAttemptId();
  const { etag } = await uploadWithRetry(job, key, path, stat, attempt);
  return { kind: "migrated", path, key, etag, bytes: stat.size, attempt };
}

async function migrateLocked(job: FileJob, path: string, key: string): Promise<FileOutcome> {
  const { rt } = job;
  if (rt.process.env("TIERMV_BENCH_NO_XATTR") === "1") return uploadWithoutProtocol(job, path, key);
  // 1. stat; an unchanged committed file is a success without upload.
  const stat = await statFile(job, path);
  if (!stat) return { kind: "vanished", path };
  if (stat.kind !== "file")
    return { kind: "rejected", path, error: `"${path}" is not a regular file (${stat.kind})` };
  const state = await readStateOrReject(job, path);
  if (state && "kind" in state) return state;
  if (stateMatches(state, stat)) {
    // A crash between commit and unlock leaves our own lock behind: finish that attempt's unlock.
    const lock = await readLockIfReadable(job, path);
    if (lock && lock.attempt === state.attempt && isOwnStaleLock(job, lock))
      await releaseLock(rt, path, lock.attempt);
    return skipped(path, state, job.task.id);
  }

  // 2. take the lock (exactly one attempt wins), resolving our own crashed attempt first.
  const attempt = newAttemptId();
  const proc = rt.process;
  const lock: Lock = {
    v: 1,
    node: job.node,
    task: job.task.id,
    attempt,
    pid: proc.pid,
    host: proc.hostname,
    boot: proc.bootId,
    at: new Date().toISOString(),
  };
  let taken = await tryLock(rt, path, lock);
  if (!taken.acquired && taken.holder && isOwnStaleLock(job, taken.holder)) {
    let resolved: Awaited<ReturnType<typeof resolveOwnStaleLock>>;
    try {
      resolved = await resolveOwnStaleLock(job, path, taken.holder, key, stat);
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
      // The stale lock stays (it still guards the key); the file is retried later.
      const holder = `own crashed attempt ${taken.holder.attempt}, unresolved: ${err.message}`;
      return { kind: "busy", path, holder };
    }
    if (resolved.committed) {
      const { etag, size: bytes, attempt: done } = resolved.committed;
      return { kind: "migrated", path, key, etag, bytes, attempt: done, resumed: true };
    }
    taken = await tryLock(rt, path, lock);
  }
  if (!taken.acquired) {
    const holder = taken.holder
      ? `node ${taken.holder.node} (attempt ${taken.holder.attempt})`
      : (taken.why ?? "an attempt that just finished");
    return { kind: "busy", path, holder };
  }

  crashPoint(rt, "after-lock");
  try {
    return await underLock(job, path, key, attempt);
  } catch (err) {
    // Whatever broke, the lock must not be orphaned: journal the attempt so rollback frees it.
    await appendJournal(
      rt,
      job.dirs,
      journalEntry(job, path, key, attempt, `unexpected: ${(err as Error).message}`),
    );
    if (err instanceof MountUnavailableError) throw err;
    return { kind: "failed", path, key, attempt, error: (err as Error).message };
  }
}

async function underLock(
  job: FileJob,
  path: string,
  key: string,
  attempt: string,
): Promise<FileOutcome> {
  const { rt } = job;
  // Stat and state again (another attempt may have committed meanwhile). This stat is the one
  // the commit records: it was taken before any content was read.
  const locked = await statFile(job, path);
  if (locked?.kind !== "file") {
    await releaseLock(rt, path, attempt);
    return { kind: "vanished", path };
  }
  const current = await readStateOrReject(job, path);
  if (current && "kind" in current) {
    await releaseLock(rt, path, attempt);
    return current;
  }
  if (stateMatches(current, locked)) {
    await releaseLock(rt, path, attempt);
    return skipped(path, current, job.task.id);
  }

  // 3. upload.
  let etag: string;
  try {
    ({ etag } = await uploadWithRetry(job, key, path, locked, attempt));
  } catch (err) {
    if (err instanceof TargetError && err.kind === "config") {
      await releaseLock(rt, path, attempt);
      return { kind: "config", path, error: err.message };
    }
    const message = (err as Error).message;
    await appendJournal(rt, job.dirs, journalEntry(job, path, key, attempt, message));
    crashPoint(rt, "after-journal");
    return { kind: "failed", path, key, attempt, error: message };
  }

  crashPoint(rt, "after-upload");
  // 4. verify: a file changed during the upload must not be committed; the object is ours.
  const after = await statFile(job, path);
  if (!after || !sameVersion(locked, after)) {
    try {
      await job.target.delete(key);
    } catch (err) {
      const message = `changed during upload; deleting our object failed: ${(err as Error).message}`;
      await appendJournal(rt, job.dirs, journalEntry(job, path, key, attempt, message));
      return { kind: "failed", path, key, attempt, error: message };
    }
    await releaseLock(rt, path, attempt);
    return after ? { kind: "modified", path, key } : { kind: "vanished", path };
  }

  // 5. commit, then unlock.
  await writeState(rt, path, newState(job, key, etag, locked, attempt, job.task.id));
  crashPoint(rt, "after-commit");
  await releaseLock(rt, path, attempt);
  return { kind: "migrated", path, key, etag, bytes: locked.size, attempt };
}
