/**
 * Garbage collection of a file's records (docs/protocol-v2.md section 5), run by the holder of
 * the epoch it just decided, on a fresh view. Removes `l.*`, `e.*`, `c.*` of every epoch below
 * the latest state-bearing epoch s (and v1's state once s >= 1), and the records of epochs below
 * max whose outcome the holder itself wrote and that need no cleanup. Never removes epoch max,
 * `e.<s>`, nor a `revoked` outcome above s (its holder may be alive and paused: its late create
 * of `e.<j>` must keep failing with EEXIST). Other attempts may take the next epochs meanwhile:
 * the rules do not need the file to be quiet. A late re-creation of a removed name is harmless:
 * a late `l.<j>` (j < max) is caught by the view after the take, a late `e.<j>` (j < s) never
 * counts. Records stay bounded: the max epoch, the latest state, rare revocations.
 */
import type { FileHandle } from "../../runtime/types.ts";
import { needsCleanup, type RecordKind, recordName, V1_STATE } from "./records.ts";
import type { View } from "./view.ts";

/** The names GC would remove from this view (pure: the rules, for tests and inspect). */
export function garbageOf(view: View): string[] {
  const { names, max } = view;
  const s = view.current?.epoch ?? 0;
  const removable = (kind: RecordKind, k: number): boolean => {
    if (k >= max) return false;
    if (k < s) return true;
    if (kind === "e" && k === s) return false;
    const outcome = view.outcomes.get(k);
    if (!outcome) return false;
    if (outcome.outcome === "revoked" && k > s) return false;
    return outcome.by.role === "holder" && !needsCleanup(outcome.outcome);
  };
  const out: string[] = [];
  for (const kind of ["l", "e", "c"] as const)
    for (const k of names[kind]) if (removable(kind, k)) out.push(recordName(kind, k));
  if (names.v1State && s >= 1) out.push(V1_STATE);
  return out;
}

/**
 * Removes the garbage of `view` on the descriptor, one name after the other in one hand-off with
 * the mount's threads; returns the names removed.
 */
export async function collectGarbage(handle: FileHandle, view: View): Promise<string[]> {
  const garbage = garbageOf(view);
  const removed = await handle.removeXattrs(garbage);
  return garbage.filter((_, i) => removed[i]);
}
