/**
 * What happened to one file in one migrate attempt: a tagged union, never a string or boolean.
 * Every entry of every task ends in exactly one of these (invariant I4).
 */
export type FileOutcome =
  /**
   * Uploaded, verified unchanged, committed, and the commit counts (its epoch is the current
   * state's). `resumed`: committed from a crashed attempt's upload (resolution).
   */
  | {
      kind: "migrated";
      path: string;
      key: string;
      etag: string;
      bytes: number;
      attempt: string;
      epoch: number;
      resumed?: boolean;
    }
  /** Already committed for this key, target and version. `attempt`: the committing attempt. */
  | {
      kind: "skipped";
      path: string;
      key: string;
      etag: string;
      bytes: number;
      attempt: string;
      ownTask: boolean;
    }
  /** Held by another attempt (or its cleanup): no upload; retried later from a retry task. */
  | { kind: "busy"; path: string; holder: string }
  /** Busy for longer than `retry.busyMaxAgeMs`: not retried again; the holder is named. */
  | { kind: "stuck"; path: string; holder: string; busySince: string }
  /** Changed during the upload: not committed (our version deleted on a versioned bucket). */
  | { kind: "modified"; path: string; key: string }
  /** Another inode took the path during the upload: not committed; submit the new file. */
  | { kind: "moved"; path: string; key: string }
  /** Gone before it could be migrated: nothing to roll back. */
  | { kind: "vanished"; path: string }
  /**
   * The upload failed after retries, or a write got no answer (`ambiguous`, window fence): the
   * epoch is journalled and decided failed, and stays held until rollback cleans it.
   */
  | {
      kind: "failed";
      path: string;
      key: string;
      attempt: string;
      error: string;
      ambiguous?: boolean;
    }
  /**
   * Someone decided this attempt's epoch first (recover on a node that was paused, not dead):
   * whatever it uploaded is void and cleaned by the revoker; nothing is committed.
   */
  | { kind: "revoked"; path: string; key: string; attempt: string; error: string }
  /**
   * An error of this file alone (failure_scope.ts): EACCES, EPERM (immutable), ENAMETOOLONG, a
   * key the store refuses (400), an AccessDenied the target's probe does not reproduce. `code`:
   * the errno name or the store's error code. Nothing is committed; the task goes on.
   */
  | { kind: "error"; path: string; error: string; code?: string }
  /**
   * A graceful stop (SIGTERM/SIGINT) aborted this file's upload after the grace period: the epoch
   * is journalled once and decided `interrupted` (cleaned like a failure, never counted against
   * retry.maxFailedAttempts); the file runs again with its task.
   */
  | { kind: "interrupted"; path: string; key: string; attempt: string }
  /** Not migratable as given (outside root, not a regular file, unreadable record): untouched. */
  | { kind: "rejected"; path: string; error: string }
  // Tiering (docs/tiering.md).
  /**
   * Released: the state says `released`, the file is a stub (a stub released before is
   * `skipped`, but by this same task run again). `dryRun`: every check passed, nothing was done;
   * `resumed`: this task released it before a crash.
   */
  | {
      kind: "released";
      path: string;
      key: string;
      bytes: number;
      dryRun?: boolean;
      resumed?: boolean;
      /** The release's attempt (its event id), absent for a dry run. */
      attempt?: string;
    }
  /** Restored into the same inode and verified (a file with nothing to restore is `skipped`). */
  | { kind: "restored"; path: string; key: string; bytes: number }
  /** Left as it was, with the reason: release's checks, or migrate meeting a released stub. */
  | { kind: "refused"; path: string; reason: string }
  /**
   * Restore: the object the released state names is missing or different; the stub untouched,
   * or put back as restore found it (changed mid-copy), or left as it is when written to meanwhile
   * (the reason says so).
   */
  | { kind: "lost"; path: string; key: string; reason: string }
  /** A released file someone wrote to: its bytes are the file now; never overwritten. */
  | { kind: "dirty"; path: string; key: string; reason: string }
  /**
   * Restore: the object is in an archive class (GLACIER, DEEP_ARCHIVE) and not readable yet; its
   * restore was requested (RestoreObject) or is in progress. The stub is untouched; retried.
   */
  | { kind: "restore-pending"; path: string; key: string; storageClass: string }
  /** `tiermv remove`: the archived copy (its version) is deleted; the file is not migrated now. */
  /** `bytes`: the archived size, no longer archived. */
  | { kind: "removed"; path: string; key: string; versionId: string; bytes: number };

export type OutcomeKind = FileOutcome["kind"];

export const OUTCOME_KINDS: OutcomeKind[] = [
  "migrated",
  "skipped",
  "busy",
  "stuck",
  "modified",
  "moved",
  "vanished",
  "failed",
  "revoked",
  "error",
  "interrupted",
  "rejected",
  "released",
  "restored",
  "refused",
  "lost",
  "dirty",
  "removed",
  "restore-pending",
];

/**
 * Per-task counts: every outcome, the bytes migrated, and `unreadableLocks`: take records that
 * could not be read (busy while fresh, cleared as a dead attempt's once stale; status shows it).
 */
export type OutcomeCounts = Record<OutcomeKind, number> & {
  bytes: number;
  unreadableLocks: number;
};

export function emptyCounts(): OutcomeCounts {
  const counts = { bytes: 0, unreadableLocks: 0 } as OutcomeCounts;
  for (const kind of OUTCOME_KINDS) counts[kind] = 0;
  return counts;
}

export function addCounts(into: OutcomeCounts, from: OutcomeCounts): OutcomeCounts {
  for (const kind of OUTCOME_KINDS) into[kind] += from[kind];
  into.bytes += from.bytes;
  into.unreadableLocks += from.unreadableLocks;
  return into;
}

export function busy(path: string, holder: string): FileOutcome {
  return { kind: "busy", path, holder };
}

/** One log line for an outcome: its kind, its path and, where it has one, why. */
export function outcomeLine(outcome: FileOutcome): string {
  const why =
    "reason" in outcome
      ? outcome.reason
      : "error" in outcome
        ? outcome.error
        : "holder" in outcome
          ? `held by ${outcome.holder}`
          : undefined;
  return `${outcome.kind}: ${outcome.path}${why ? `: ${why}` : ""}`;
}

/**
 * The bytes an outcome freed (released), brought back (restored) or no longer archived (removed)
 * now: 0 for anything else and for a dry run. What status,
 * /metrics (released and restored) and the summaries count.
 */
export function tierBytesOf(outcome: FileOutcome): number {
  if (outcome.kind === "restored" || outcome.kind === "removed") return outcome.bytes;
  if (outcome.kind !== "released" || outcome.dryRun) return 0;
  return outcome.bytes;
}
