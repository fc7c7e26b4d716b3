/**
 * A release's or restore's decision of its held epoch (docs/tiering.md): `e.<n>` created like
 * every holder's (decide.ts), then GC; and the outcome when someone decided first.
 */

import { decideAsHolder, decideLeavingGarbage } from "./decide.ts";
import { collectGarbage, garbageOf } from "./gc.ts";
import type { FileOutcome } from "./outcome.ts";
import { type EpochOutcome, newOutcome, type State } from "./records.ts";
import type { TierHeld } from "./tier_file.ts";

/**
 * Decides the held epoch (`e.<n>`, XATTR_CREATE) and GCs. False when someone decided it first
 * (recover), or when a state-bearing decision does not count (a re-created name below s).
 */
export async function decideTier(
  held: TierHeld,
  outcome: EpochOutcome,
  extra: { state?: State; error?: string } = {},
): Promise<boolean> {
  const by = { node: held.job.node, role: "holder" as const };
  const record = newOutcome({ n: held.n, attempt: held.attempt, outcome, by, ...extra });
  const decided = await decideAsHolder(held.file.handle, record);
  return decided.decided && decided.counts;
}

/**
 * decideTier without its GC when the decision counts: the names GC must remove, which the
 * caller removes in its next call on the file (decideLeavingGarbage); null when it does not
 * count (GC'd then, as decideTier does).
 */
export async function decideTierLeavingGarbage(
  held: TierHeld,
  outcome: EpochOutcome,
  extra: { state?: State; error?: string } = {},
): Promise<string[] | null> {
  const by = { node: held.job.node, role: "holder" as const };
  const record = newOutcome({ n: held.n, attempt: held.attempt, outcome, by, ...extra });
  const decided = await decideLeavingGarbage(held.file.handle, record);
  if (!decided.decided) return null;
  // Not counted: GC now, as decideTier would.
  if (!decided.counts) await collectGarbage(held.file.handle, decided.view);
  return decided.counts ? garbageOf(decided.view) : null;
}

/** The outcome when our decision did not count. */
export function revokedTier(held: TierHeld, what: string): FileOutcome {
  const error = `${what}: epoch ${held.n} was decided by someone else (recover); nothing more done`;
  return {
    kind: "revoked",
    path: held.file.path,
    key: held.file.key,
    attempt: held.attempt,
    error,
  };
}
