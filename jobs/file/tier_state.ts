/**
 * A file's tier state in one word (docs/tiering.md), from its view and fstat, without the store:
 * `ls` and `inspect` show it. `lost` needs the store (a HEAD): `verify` reports it.
 */
import type { FileStat } from "../../runtime/types.ts";
import type { View } from "./view.ts";

/**
 * `partial`: released, with fewer bytes than were archived (a restore, or a release, that stopped
 * part way, or a stub written to: `restore` finishes the first and reports the second `dirty`;
 * `verify` reads the object to tell them apart). `dirty`: released, with more bytes than were
 * archived: written to, for sure.
 */
export type TierState = "unmigrated" | "migrated" | "changed" | "released" | "partial" | "dirty";

export interface TierInfo {
  tier: TierState;
  /** Bytes on the hot tier now. */
  size: number;
  /** The size the state records (the original's for a released file); null without a state. */
  archivedSize: number | null;
  key: string | null;
}

export function tierOf(view: View, stat: FileStat): TierInfo {
  const state = view.current?.state;
  if (!state || state.state === "removed")
    return { tier: "unmigrated", size: stat.size, archivedSize: null, key: null };
  const info = { size: stat.size, archivedSize: state.size, key: state.key };
  if (state.state === "released") {
    const tier = stat.size === 0 ? "released" : stat.size <= state.size ? "partial" : "dirty";
    return { ...info, tier };
  }
  const same = state.size === stat.size && state.mtimeNs === stat.mtimeNs && state.ino === stat.ino;
  return { ...info, tier: same ? "migrated" : "changed" };
}
