/**
 * Deciding an epoch (docs/protocol-v2.md section 4, step 6): `e.<n>` is created with
 * XATTR_CREATE, so whoever decides first wins and nothing ever overwrites a decision. A holder
 * whose create meets EEXIST was decided for (revoked by recover): its commit is void. A holder
 * whose create succeeds views again and reports `migrated` only if n is the current state's
 * epoch: once GC has removed a revoked `e.<n>`, a paused holder's create re-creates the name,
 * and that commit never counts (model fix `design-report-late-commit`). Then GC.
 */
import type { FileHandle } from "../../runtime/types.ts";
import { collectGarbage } from "./gc.ts";
import { type Outcome, recordName } from "./records.ts";
import { epochNames, readView, type View } from "./view.ts";
import { createRecord, createRecordThenList } from "./xattr_record.ts";

/** Creates `e.<n>`; false when someone decided epoch n first. */
export function decide(handle: FileHandle, outcome: Outcome): Promise<boolean> {
  return createRecord(handle, recordName("e", outcome.n), outcome);
}

export type HolderDecision =
  /** Decided by this holder; `counts`: for a commit, n is the current state's epoch. */
  | { decided: true; counts: boolean; view: View }
  /** Someone decided first (EEXIST): revoked, the holder's commit is void. */
  | { decided: false };

/** The holder's decision, the view after it, then GC (the holder GCs after every decision). */
export async function decideAsHolder(
  handle: FileHandle,
  outcome: Outcome,
): Promise<HolderDecision> {
  const decision = await decideLeavingGarbage(handle, outcome);
  if (decision.decided) await collectGarbage(handle, decision.view);
  return decision;
}

/**
 * decideAsHolder up to its GC, which the caller makes next, before any other call on the file:
 * `garbageOf(view)` (gc.ts), in the hand-off of its own next calls (release: with its re-check).
 */
export async function decideLeavingGarbage(
  handle: FileHandle,
  outcome: Outcome,
): Promise<HolderDecision> {
  // The create and the listing of the view after it go in one hand-off (the same two calls).
  const listed = await createRecordThenList(handle, recordName("e", outcome.n), outcome);
  if (!listed) return { decided: false };
  const view = await viewAfter(handle, outcome, listed);
  const counts = outcome.state === undefined || view.current?.epoch === outcome.n;
  return { decided: true, counts, view };
}

/**
 * The view after our own create of `e.<n>`, from the flistxattr made right after it: when n is
 * still max, the records above n do not exist and `e.<n>` is the one we wrote, so that listing
 * is the whole view; otherwise the view reads what others wrote.
 */
async function viewAfter(handle: FileHandle, outcome: Outcome, listed: string[]): Promise<View> {
  const names = epochNames(listed);
  if (names.max !== outcome.n || !outcome.state) return await readView(handle, listed);
  const current = { epoch: outcome.n, state: outcome.state };
  const outcomes = new Map([[outcome.n, outcome]]);
  return { names, max: names.max, outcomes, current, hold: { kind: "free" } };
}
