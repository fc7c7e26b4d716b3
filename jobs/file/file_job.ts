/**
 * What the per-file protocol works with: the job context plus the node, its task and its target,
 * and the journal line that hands a failed epoch to rollback.
 */
import type { FileHandle } from "../../runtime/types.ts";
import type { JobContext } from "../context/job_context.ts";
import {
  appendJournal,
  type FailedEpochFields,
  type JournalEntry,
  newJournalEntry,
} from "../spool/journal.ts";
import type { NodeDirs } from "../spool/layout.ts";
import type { Target } from "../targets/target.ts";

export interface FileJob extends JobContext {
  node: string;
  dirs: NodeDirs;
  task: { id: string; requestId: string; retry: number };
  target: Target;
  /**
   * Aborts store requests in flight: `shutdown.graceMs` after `signal` (the stop), so uploads in
   * flight at a SIGTERM may finish first (graceful stop).
   */
  uploadSignal?: AbortSignal;
  /**
   * Set when a file's probe found the target down after its epoch had to be journalled (a write
   * may have been sent): the file's outcome is recorded, then the task stops with this error.
   */
  halt?: Error;
  /** Paths this process is migrating right now: a duplicate entry is busy, not a second upload. */
  inFlight: Set<string>;
  /** Unreadable take records met (status counts them). */
  seen: { unreadableLocks: number };
}

/** The file an attempt works on: opened once, every call on the descriptor (BRIEF 5b). */
export interface OpenFile {
  handle: FileHandle;
  path: string;
  /** This path's key on the job's target. */
  key: string;
}

/** The failed epoch as the journal names it. */
export interface FailedEpoch extends FailedEpochFields {
  /** The task of the attempt (a crashed run's, when resolving it). */
  task?: string;
  /** A graceful stop aborted it: not a failed attempt (no retry task, tries unchanged). */
  interrupted?: true;
}

/**
 * Journals a failed epoch of this job's node, BEFORE it is decided `failed`: the epoch stays
 * held until the rollback job has cleaned it (a crash in between leaves it undecided, and this
 * node's resolution finds it again).
 */
export async function journalFailure(job: FileJob, failed: FailedEpoch): Promise<JournalEntry> {
  const entry = newJournalEntry({
    path: failed.path,
    ino: failed.ino,
    epoch: failed.epoch,
    attempt: failed.attempt,
    key: failed.key,
    target: failed.target,
    uploadIds: failed.uploadIds,
    node: job.node,
    task: failed.task ?? job.task.id,
    requestId: job.task.requestId,
    error: failed.error,
    tries: failed.interrupted ? job.task.retry : job.task.retry + 1,
    ...(failed.interrupted ? { interrupted: true as const } : {}),
  });
  await appendJournal(job.rt, job.dirs, entry);
  return entry;
}
