/**
 * What the per-file protocol works with: the job context plus the node, its task and its target,
 * and the journal line that hands a failed epoch to rollback.
 */
import type { FileHandle } from "../../runtime/types.ts";
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
export interface FailedEpoch {
  path: string;
  ino: string;
  epoch: number;
  attempt: string;
  key: string;
  target: string;
  uploadIds: string[];
  error: string;
  /** The task of the attempt (a crashed run's, when resolving it). */
  task?: string;
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
    tries: job.task.retry + 1,
  });
  await appendJournal(job.rt, job.dirs, entry);
  return entry;
}
