/**
 * Migrate meets a released file (docs/tiering.md): it never uploads it. A stub (size 0) would
 * replace the only copy with nothing; a stub written to (dirty) would replace it with new bytes
 * while the state still names the old ones (model: `mutant-migrate-stub`).
 */
import type { FileStat } from "../../runtime/types.ts";
import type { FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";

/** The outcome of migrate for a file whose current state is `released`; null otherwise. */
export function refuseReleased(
  path: string,
  state: State | undefined,
  stat: FileStat,
): FileOutcome | null {
  if (state?.state !== "released") return null;
  if (stat.size === 0)
    return {
      kind: "refused",
      path,
      reason: `released (a stub of ${state.size} bytes archived at ${state.key}): not uploaded; restore it first`,
    };
  return {
    kind: "dirty",
    path,
    key: state.key,
    reason: `released, then written to (${stat.size} bytes now): not uploaded over the only copy of the released bytes at ${state.key}`,
  };
}
