/**
 * What `run` exits with, decided in one place. 0: everything was done or waits on its own (a
 * retry task, a later tick); 1: something needs an operator; 2 (usage, config) comes from errors.
 * OUTCOME_EXIT is keyed by every per-file outcome, so a new outcome does not compile until it is
 * given its place here (and in the README's exit-code table).
 */
import type { OutcomeKind } from "../jobs/file/outcome.ts";
import type { TickSummary } from "../jobs/run_node.ts";

/** "done" and "waits" keep exit 0; "operator" makes it 1. */
export const OUTCOME_EXIT: Record<OutcomeKind, "done" | "waits" | "operator"> = {
  migrated: "done",
  skipped: "done",
  vanished: "done",
  /** Locked by another attempt: a retry task runs it later. */
  busy: "waits",
  /** Changed during the upload (not committed): the producer resubmits it. */
  modified: "waits",
  /** Another inode took the path during the upload (a rotation): the producer resubmits it. */
  moved: "waits",
  /** Busy for longer than retry.busyMaxAgeMs: not retried; its holder needs a look. */
  stuck: "operator",
  /** This node was revoked (recover --force while it was paused): its commit is void. */
  revoked: "operator",
  /** Upload failed after retries: journalled, rolled back, retried up to maxFailedAttempts. */
  failed: "operator",
  /**
   * An error of this file alone (EACCES, EPERM, ENAMETOOLONG, a key the store refuses, an
   * AccessDenied the target's probe does not reproduce): the task went on without it.
   */
  error: "operator",
  /** A stop aborted its upload after shutdown.graceMs: its task, back in pending/, runs it again. */
  interrupted: "waits",
  /** Not migratable as given (outside root, not a regular file, unreadable xattr). */
  rejected: "operator",
  /** Released (tiering): the file is a stub, its bytes in the store. */
  released: "done",
  /** Restored into the same inode and verified. */
  restored: "done",
  /** Left as it was with a reason (release's checks; migrate meeting a released stub). */
  refused: "operator",
  /** The object a released file names is missing or different: the stub is left as found. */
  lost: "operator",
  /** A released file someone wrote to: never overwritten; an operator decides. */
  dirty: "operator",
  /** The object is in an archive class and its restore is in progress: a retry task takes it. */
  "restore-pending": "waits",
  /** `tiermv remove`: the archived copy is deleted; the file is on the hot tier only. */
  removed: "done",
};

/** Why one node's tick needs an operator; empty when it does not. */
export function operatorReasons(t: TickSummary): string[] {
  const reasons: string[] = [];
  for (const [kind, exit] of Object.entries(OUTCOME_EXIT))
    if (exit === "operator" && t.counts[kind as OutcomeKind] > 0)
      reasons.push(`${t.counts[kind as OutcomeKind]} ${kind}`);
  const bad = t.tasks.filter((task) => task.result === "bad").length;
  if (bad > 0) reasons.push(`${bad} unreadable tasks moved to bad/`);
  // A tick skipped because the target or the mount is unavailable says so once, not twice.
  if (t.skipped && t.skipped !== t.unavailable?.error) reasons.push(`cycle skipped: ${t.skipped}`);
  if (t.unavailable) reasons.push(`${t.unavailable.what} unavailable: ${t.unavailable.error}`);
  const resumed = t.tasks.filter((task) => task.result === "exhausted").length;
  if (resumed > 0) reasons.push(`${resumed} tasks failed after retry.maxTaskResumes resumes`);
  const exhausted = t.rollback.reduce((n, r) => n + r.exhausted, 0);
  if (exhausted > 0) reasons.push(`${exhausted} files given up after retry.maxFailedAttempts`);
  const invalid = t.rollback.reduce((n, r) => n + r.invalid, 0);
  if (invalid > 0) reasons.push(`${invalid} unreadable failed-files lines`);
  const blocked = t.rollback.find((r) => r.blocked)?.blocked;
  if (blocked) reasons.push(`rollback stopped: ${blocked}`);
  return reasons;
}

/**
 * True when the tick did anything worth a log line (an idle --watch tick stays quiet). A report
 * that failed is not activity: Kafka's state is logged when it changes (run.ts), not every tick.
 */
export function tickDidSomething(t: TickSummary): boolean {
  return (
    t.tasks.length > 0 ||
    t.rollback.some((r) => r.processed > 0) ||
    t.skipped !== undefined ||
    t.unavailable !== undefined ||
    (t.report?.shipped ?? 0) > 0
  );
}
