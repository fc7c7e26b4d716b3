/**
 * Rollback of one journalled failed epoch (docs/protocol-v2.md section 6). Idempotent: every
 * step checks before it acts, so replayed and duplicated lines are harmless, and it acts only
 * for the attempt the line names:
 * - the path's inode is not the line's: the file moved; reported, nothing done (verify lists
 *   the held epoch);
 * - `e.<n>` absent and (n < max, or `l.<n>` not the line's attempt): decided, cleaned and
 *   garbage-collected (or never taken): done (model fix `design-journal-gcd-line`);
 * - `e.<n>` absent, n = max, `l.<n>` the line's attempt: decided `failed` on its behalf once its
 *   process is dead (ambiguous on a window-fenced bucket), else left for later;
 * - `e.<n>` state-bearing, or `c.<n>` there: nothing to do;
 * - `e.<n>` failed/revoked/interrupted without `c.<n>`: clean it (clean_epoch.ts).
 * Opened by path (a journal line names a path, not a descriptor), checked by inode.
 */
import type { FileHandle } from "../../runtime/types.ts";
import { type JobContext, targetFor } from "../context/job_context.ts";
import type { JournalEntry } from "../spool/journal.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { type CleanResult, cleanEpoch } from "./clean_epoch.ts";
import { decide } from "./decide.ts";
import { livenessOf } from "./liveness.ts";
import { lookAtFile } from "./open_file.ts";
import { needsCleanup, newOutcome } from "./records.ts";
import { storeFence, unansweredIsAmbiguous } from "./store_fence.ts";
import { isCommitFor, readOutcome, readTake, readView } from "./view.ts";

export type RollbackStatus =
  /** Cleaned now (`c.<n>` created). */
  | "cleaned"
  /** Nothing left to do: already clean, committed, or garbage-collected. */
  | "done"
  /** Cleaned in the store, `c.<n>` waits for the late-write window (kept in windows/). */
  | "waiting"
  /** The attempt's process is alive (or elsewhere): the line is retried later. */
  | "later"
  /** The file is gone, or another inode is at its path: reported, nothing done. */
  | "moved";

export interface RollbackResult {
  status: RollbackStatus;
  deleted: number;
  /** The file exists and is not committed for the line's key and target: migrate it again. */
  needsRetry: boolean;
  detail?: string;
  until?: number;
}

export async function rollbackEntry(
  ctx: JobContext,
  dirs: NodeDirs,
  entry: JournalEntry,
): Promise<RollbackResult> {
  const looked = await lookAtFile(ctx.rt, entry.path, async (handle): Promise<RollbackResult> => {
    const stat = await handle.stat();
    if (stat.ino !== entry.ino || stat.kind !== "file") {
      const detail = `another inode (${stat.ino}) is at the path: epoch ${entry.epoch} stays with inode ${entry.ino}`;
      return { status: "moved", deleted: 0, needsRetry: false, detail };
    }
    const result = await rollbackOpen(ctx, dirs, handle, entry);
    const view = await readView(handle);
    const id = { key: entry.key, target: entry.target, stat: await handle.stat() };
    const needsRetry = result.status !== "later" && !isCommitFor(view.current?.state, id);
    return { ...result, needsRetry };
  });
  return looked ?? { status: "moved", deleted: 0, needsRetry: false, detail: "the file is gone" };
}

async function rollbackOpen(
  ctx: JobContext,
  dirs: NodeDirs,
  handle: FileHandle,
  entry: JournalEntry,
): Promise<Omit<RollbackResult, "needsRetry">> {
  const n = entry.epoch;
  let view = await readView(handle);
  let outcome = view.outcomes.get(n) ?? (view.names.e.has(n) ? await readOutcome(handle, n) : null);
  if (!outcome) {
    const { take } = await readTake(handle, n);
    // Decided, cleaned and garbage-collected (or never taken): the line is done.
    if (n < view.max || !view.names.l.has(n) || (take && take.attempt !== entry.attempt))
      return { status: "done", deleted: 0 };
    if (take && livenessOf(ctx.rt, take.proc) !== "dead")
      return { status: "later", deleted: 0, detail: `attempt ${entry.attempt} is still alive` };
    const fence = await storeFence(ctx.config, targetFor(ctx, entry.target));
    const failed = newOutcome({
      n,
      attempt: entry.attempt,
      outcome: "failed",
      by: { node: entry.node, role: "rollback" },
      error: entry.error,
      ambiguous: unansweredIsAmbiguous(fence),
    });
    await decide(handle, failed);
    view = await readView(handle);
    outcome = await readOutcome(handle, n);
    if (!outcome) return { status: "done", deleted: 0 };
  }
  if (outcome.state || view.names.c.has(n) || !needsCleanup(outcome.outcome))
    return { status: "done", deleted: 0 };
  const by = { node: entry.node, role: "rollback" as const };
  const cleaned: CleanResult = await cleanEpoch(ctx, dirs, { handle, entry, outcome, view, by });
  if (cleaned.kind === "waiting") return { status: "waiting", deleted: 0, until: cleaned.until };
  return { status: "cleaned", deleted: cleaned.deleted };
}
