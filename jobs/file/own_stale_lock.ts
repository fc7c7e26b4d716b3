/**
 * A lock left by this node's own crashed run (same host; its process is gone or the host
 * rebooted). If that attempt's object is complete and matches the file, the upload finished:
 * commit it instead of uploading again. Otherwise the attempt is journalled and rolled back, and
 * the file is migrated again. Safe because nobody else can hold the lock meanwhile.
 */
import type { FileStat } from "../../runtime/types.ts";
import type { FileJob } from "./file_job.ts";
import { journalFailure } from "./file_job.ts";
import { type Lock, releaseLock } from "./lock.ts";
import { rollbackEntry } from "./rollback_entry.ts";
import { newState, type State, sameVersion, writeState } from "./state.ts";

/** Returns the state it committed, or null when it rolled the attempt back. */
export async function resolveOwnStaleLock(
  job: FileJob,
  stale: { path: string; key: string; lock: Lock; stat: FileStat },
): Promise<State | null> {
  const { path, key, lock, stat } = stale;
  const object = await job.target.head(key);
  const meta = object?.meta;
  if (object && meta?.attempt === lock.attempt && sameVersion(meta, stat)) {
    // Recorded under the current task: if this run dies before its events are written, this
    // task is resumed, finds its own commit and emits the event then.
    const state = newState({
      target: job.target.url,
      key,
      etag: object.etag,
      version: stat,
      attempt: lock.attempt,
      node: job.node,
      task: job.task.id,
    });
    await writeState(job.rt, path, state);
    await releaseLock(job.rt, path, lock.attempt);
    return state;
  }
  const error = "attempt interrupted by a crash";
  const entry = await journalFailure(job, {
    path,
    key,
    attempt: lock.attempt,
    error,
    task: lock.task,
  });
  await rollbackEntry(job, entry);
  return null;
}
