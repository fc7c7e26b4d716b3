/**
 * What the per-file protocol works with: the job context plus the node, its task and its target,
 * and the two things every step needs: a stat, and the journal line that hands a failed attempt
 * (and its lock) to rollback.
 */
import { isNotFound } from "../../runtime/errors.ts";
import type { FileStat } from "../../runtime/types.ts";
import type { JobContext } from "../context/job_context.ts";
import { appendJournal, type JournalEntry, newJournalEntry } from "../spool/journal.ts";
import type { NodeDirs } from "../spool/layout.ts";
import type { Target } from "../targets/target.ts";

export interface FileJob extends JobContext {
  node: string;
  dirs: NodeDirs;
  task: { id: string; requestId: string; retry: number };
  target: Target;
  /** Paths this process is migrating right now: a duplicate entry is busy, not a second upload. */
  inFlight: Set<string>;
}

/**
 * lstat; null when the file is gone. Like every call on the mount it is bounded by the runtime's
 * deadline (mount.timeoutMs): a hung mount throws MountUnavailableError, never hangs the scheduler.
 */
export async function statFile(job: FileJob, path: string): Promise<FileStat | null> {
  try {
    return await job.rt.fs.lstat(path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Journals a failed attempt of this job's task (or of `task`, the crashed run that made it): the
 * attempt keeps its lock, and the rollback job deletes its object and frees the lock later.
 */
export async function journalFailure(
  job: FileJob,
  failed: { path: string; key: string; attempt: string; error: string; task?: string },
): Promise<JournalEntry> {
  const { path, key, attempt, error } = failed;
  const entry = newJournalEntry({
    path,
    attempt,
    key,
    target: job.target.url,
    node: job.node,
    task: failed.task ?? job.task.id,
    requestId: job.task.requestId,
    error,
    tries: job.task.retry + 1,
  });
  await appendJournal(job.rt, job.dirs, entry);
  return entry;
}
