/**
 * What happened to one file in one migrate attempt: a tagged union, never a string or boolean.
 * Every entry of every task ends in exactly one of these (invariant I4).
 */
export type FileOutcome =
  /** Uploaded, verified unchanged, committed. `resumed`: committed from a crashed run's upload. */
  | {
      kind: "migrated";
      path: string;
      key: string;
      etag: string;
      bytes: number;
      attempt: string;
      resumed?: boolean;
    }
  /** Already migrated and unchanged. `attempt` is the committing attempt (for a stable event id). */
  | {
      kind: "skipped";
      path: string;
      key: string;
      etag: string;
      bytes: number;
      attempt: string;
      ownTask: boolean;
    }
  /** Locked by another live attempt: no upload, no rollback; retried later from a retry task. */
  | { kind: "busy"; path: string; holder: string }
  /** Changed during the upload: our object was deleted, the producer should resubmit. */
  | { kind: "modified"; path: string; key: string }
  /** Gone before it could be migrated: nothing to roll back. */
  | { kind: "vanished"; path: string }
  /** Upload failed after retries: the lock is kept and the attempt journalled for rollback. */
  | { kind: "failed"; path: string; key: string; attempt: string; error: string }
  /** The target refused for a configuration reason: the task stops, the file is untouched. */
  | { kind: "config"; path: string; error: string }
  /** Not migratable as given (outside root, not a regular file, unreadable state): untouched. */
  | { kind: "rejected"; path: string; error: string };

export type OutcomeKind = FileOutcome["kind"];

export const OUTCOME_KINDS: OutcomeKind[] = [
  "migrated",
  "skipped",
  "busy",
  "modified",
  "vanished",
  "failed",
  "config",
  "rejected",
];

export type OutcomeCounts = Record<OutcomeKind, number> & { bytes: number };

export function emptyCounts(): OutcomeCounts {
  return {
    migrated: 0,
    skipped: 0,
    busy: 0,
    modified: 0,
    vanished: 0,
    failed: 0,
    config: 0,
    rejected: 0,
    bytes: 0,
  };
}

export function addCounts(into: OutcomeCounts, from: OutcomeCounts): OutcomeCounts {
  for (const kind of OUTCOME_KINDS) into[kind] += from[kind];
  into.bytes += from.bytes;
  return into;
}
