/**
 * The per-file protocol (docs/design.md section 3, its state diagram): stat -> lock
 * (XATTR_CREATE) -> re-stat and re-read the state under the lock -> upload -> verify -> commit
 * the state -> unlock. Outcomes are values; a failed upload keeps its lock and is journalled for
 * the rollback job (never rolled back here).
 */
import type { FileStat } from "../../runtime/types.ts";
import { TargetError } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { MountUnavailableError } from "../util/errors.ts";
import { newAttemptId } from "../util/ids.ts";
import { relativeToRoot } from "../util/paths.ts";
import { type FileJob, journalFailure, statFile } from "./file_job.ts";
import {
  isOwnStaleLock,
  type Lock,
  newLock,
  readLockIfReadable,
  releaseLock,
  tryLock,
  withLock,
} from "./lock.ts";
import type { FileOutcome } from "./outcome.ts";
import { resolveOwnStaleLock } from "./own_stale_lock.ts";
import { newState, readState, type State, sameVersion, stateMatches, writeState } from "./state.ts";
import { uploadWithRetry } from "./upload.ts";
import { XattrPayloadError } from "./xattr_record.ts";

export type { FileJob } from "./file_job.ts";

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
    const key = job.target.keyFor(rel);
    if (job.rt.process.env("TIERMV_BENCH_NO_XATTR") === "1")
      return await uploadOnly(job, path, key);
    return await migrateVersion(job, path, key);
  } finally {
    job.inFlight.delete(path);
  }
}

const ownProcess = (job: FileJob) => ({ node: job.node, process: job.rt.process });

function skipped(path: string, state: State, taskId: string): FileOutcome {
  const { key, etag, size: bytes, attempt } = state;
  return { kind: "skipped", path, key, etag, bytes, attempt, ownTask: state.task === taskId };
}

/** The committed state; an unreadable one makes the file `rejected` (left as it is). */
async function readStateOrReject(job: FileJob, path: string): Promise<State | null | FileOutcome> {
  try {
    return await readState(job.rt, path);
  } catch (err) {
    if (err instanceof XattrPayloadError) return { kind: "rejected", path, error: err.message };
    throw err;
  }
}

/** Steps 1 and 2: skip what is committed and unchanged, else take the lock and go on under it. */
async function migrateVersion(job: FileJob, path: string, key: string): Promise<FileOutcome> {
  const { rt } = job;
  const stat = await statFile(job, path);
  if (!stat) return { kind: "vanished", path };
  if (stat.kind !== "file")
    return { kind: "rejected", path, error: `"${path}" is not a regular file (${stat.kind})` };
  const state = await readStateOrReject(job, path);
  if (state && "kind" in state) return state;
  if (stateMatches(state, stat)) {
    // A crash between commit and unlock leaves our own lock behind: finish that attempt's unlock.
    const lock = await readLockIfReadable(rt, path);
    if (lock && lock.attempt === state.attempt && isOwnStaleLock(lock, ownProcess(job)))
      await releaseLock(rt, path, lock.attempt);
    return skipped(path, state, job.task.id);
  }

  const attempt = newAttemptId();
  const lock = newLock({ node: job.node, task: job.task.id, attempt, process: rt.process });
  const refused = await takeLock(job, { path, key, stat, lock });
  if (refused) return refused;
  crashPoint(rt, "after-lock");
  try {
    return await withLock(rt, { path, attempt }, () => underLock(job, { path, key, attempt }));
  } catch (err) {
    // Whatever broke, the lock must not be orphaned: journal the attempt so rollback frees it.
    const error = `unexpected: ${(err as Error).message}`;
    await journalFailure(job, { path, key, attempt, error });
    if (err instanceof MountUnavailableError) throw err;
    return { kind: "failed", path, key, attempt, error: (err as Error).message };
  }
}

/**
 * Takes the lock (exactly one attempt wins), resolving this node's own crashed attempt first.
 * Returns null when `lock` is held now, else the outcome: busy, or migrated by the resolution.
 */
async function takeLock(
  job: FileJob,
  wanted: { path: string; key: string; stat: FileStat; lock: Lock },
): Promise<FileOutcome | null> {
  const { path, key, lock } = wanted;
  let taken = await tryLock(job.rt, path, lock);
  if (!taken.acquired && taken.holder && isOwnStaleLock(taken.holder, ownProcess(job))) {
    const stale = taken.holder;
    let committed: State | null;
    try {
      committed = await resolveOwnStaleLock(job, { path, key, lock: stale, stat: wanted.stat });
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
      // The stale lock stays (it still guards the key); the file is retried later.
      const holder = `own crashed attempt ${stale.attempt}, unresolved: ${err.message}`;
      return { kind: "busy", path, holder };
    }
    if (committed) {
      const { etag, size: bytes, attempt } = committed;
      return { kind: "migrated", path, key, etag, bytes, attempt, resumed: true };
    }
    taken = await tryLock(job.rt, path, lock);
  }
  if (taken.acquired) return null;
  const holder = taken.holder
    ? `node ${taken.holder.node} (attempt ${taken.holder.attempt})`
    : (taken.why ?? "an attempt that just finished");
  return { kind: "busy", path, holder };
}

/** Steps 2 (re-check) to 5, holding the lock; `withLock` releases it unless the attempt failed. */
async function underLock(
  job: FileJob,
  held: { path: string; key: string; attempt: string },
): Promise<FileOutcome> {
  const { rt } = job;
  const { path, key, attempt } = held;
  // Stat and state again (another attempt may have committed meanwhile). This stat is the one
  // the commit records: it was taken before any content was read.
  const locked = await statFile(job, path);
  if (locked?.kind !== "file") return { kind: "vanished", path };
  const current = await readStateOrReject(job, path);
  if (current && "kind" in current) return current;
  if (stateMatches(current, locked)) return skipped(path, current, job.task.id);

  // 3. upload.
  let etag: string;
  let versionId: string | null;
  try {
    ({ etag, versionId } = await uploadWithRetry(job, { path, key, stat: locked, attempt }));
  } catch (err) {
    if (err instanceof TargetError && err.kind === "config")
      return { kind: "config", path, error: err.message };
    const error = (err as Error).message;
    await journalFailure(job, { path, key, attempt, error });
    crashPoint(rt, "after-journal");
    return { kind: "failed", path, key, attempt, error };
  }

  crashPoint(rt, "after-upload");
  // 4. verify: a file changed during the upload must not be committed; the object is ours.
  const after = await statFile(job, path);
  if (!after || !sameVersion(locked, after)) {
    try {
      // Exactly our own upload: its version on a versioned bucket, the key otherwise.
      await job.target.delete(key, versionId);
    } catch (err) {
      const error = `changed during upload; deleting our object failed: ${(err as Error).message}`;
      await journalFailure(job, { path, key, attempt, error });
      return { kind: "failed", path, key, attempt, error };
    }
    return after ? { kind: "modified", path, key } : { kind: "vanished", path };
  }

  // 5. commit; leaving the scope unlocks.
  const { url: target } = job.target;
  const { node, task } = job;
  const version = locked;
  await writeState(
    rt,
    path,
    newState({ target, key, etag, version, attempt, node, task: task.id }),
  );
  crashPoint(rt, "after-commit");
  return { kind: "migrated", path, key, etag, bytes: locked.size, attempt };
}

/**
 * Benchmark-only (TIERMV_BENCH_NO_XATTR=1): stat and upload without any xattr, lock or state, to
 * measure what the protocol costs. Never safe for real use: nothing is committed.
 */
async function uploadOnly(job: FileJob, path: string, key: string): Promise<FileOutcome> {
  const stat = await statFile(job, path);
  if (!stat) return { kind: "vanished", path };
  const attempt = newAttemptId();
  const { etag } = await uploadWithRetry(job, { path, key, stat, attempt });
  return { kind: "migrated", path, key, etag, bytes: stat.size, attempt };
}
