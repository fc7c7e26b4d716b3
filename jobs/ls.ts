/**
 * `tiermv ls`: each file under the paths with its tier state (jobs/file/tier_state.ts), streamed
 * (one descriptor at a time, read-only, O_NOATIME), and the totals per state.
 */

import type { FileHandle } from "../runtime/types.ts";
import { type JobContext, targetFor } from "./context/job_context.ts";
import { lookAtFileOr } from "./file/open_file.ts";
import { type TierInfo, type TierState, tierOf } from "./file/tier_state.ts";
import { readView } from "./file/view.ts";
import { XattrPayloadError } from "./file/xattr_record.ts";
import { keepingRefused, walkFiles } from "./plan/walk.ts";
import { relativeToRoot } from "./util/paths.ts";

/**
 * `elsewhere`: the state names another key or target than this path's on the configured one (a
 * file renamed, or the target changed): release refuses it, migrate archives it again.
 */
export type LsEntry = { path: string } & (
  | (TierInfo & { elsewhere?: string })
  | { tier: "unreadable"; error: string }
);

export interface LsSummary {
  files: Record<TierState | "unreadable", number>;
  /** Bytes on the hot tier, and bytes the released files would take back. */
  bytes: number;
  releasedBytes: number;
}

export async function listTiers(
  ctx: JobContext,
  paths: string[],
  onEntry: (entry: LsEntry) => void,
): Promise<LsSummary> {
  const s: LsSummary = {
    files: {
      unmigrated: 0,
      migrated: 0,
      changed: 0,
      released: 0,
      partial: 0,
      dirty: 0,
      unreadable: 0,
    },
    bytes: 0,
    releasedBytes: 0,
  };
  // A path the walk cannot enter or name is listed as unreadable, with why.
  const { stats, refused: unnamed } = keepingRefused();
  const target = targetFor(ctx, ctx.config.target);
  const keyOf = (path: string) => target.keyFor(relativeToRoot(ctx.config.root, path) ?? "");
  const listUnnamed = () => {
    for (const { path, reason } of unnamed.splice(0)) {
      s.files.unreadable++;
      onEntry({ path, tier: "unreadable", error: reason });
    }
  };
  for await (const path of walkFiles(ctx.rt, paths, stats)) {
    listUnnamed();
    if (path.startsWith(`${ctx.config.spool}/`)) continue;
    const entry = await entryOf(ctx, path, { key: keyOf(path), target: target.url });
    if (!entry) continue;
    s.files[entry.tier]++;
    if ("size" in entry) s.bytes += entry.size;
    if (entry.tier === "released") s.releasedBytes += entry.archivedSize ?? 0;
    onEntry(entry);
  }
  listUnnamed();
  return s;
}

async function entryOf(
  ctx: JobContext,
  path: string,
  here: { key: string; target: string },
): Promise<LsEntry | null> {
  const look = async (handle: FileHandle): Promise<LsEntry> => {
    const stat = await handle.stat();
    try {
      const view = await readView(handle);
      const info = tierOf(view, stat);
      const state = view.current?.state;
      if (
        state &&
        state.state !== "removed" &&
        (state.key !== here.key || state.target !== here.target)
      )
        return {
          path,
          ...info,
          elsewhere: `${state.target === here.target ? "" : `${state.target} `}${state.key}`,
        };
      return { path, ...info };
    } catch (err) {
      if (err instanceof XattrPayloadError) return { path, tier: "unreadable", error: err.message };
      throw err;
    }
  };
  // One file this user cannot open: listed as such, and the walk goes on.
  return await lookAtFileOr(ctx.rt, path, look, (why) => ({
    path,
    tier: "unreadable",
    error: `the file ${why}`,
  }));
}
