/**
 * The cleanup of a failed, revoked or interrupted epoch (docs/protocol-v2.md section 6), then
 * `c.<n>`, which frees the file for the next epoch. Idempotent and safe when two cleaners of one
 * epoch overlap: it aborts only the multipart upload ids the attempt recorded, and deletes only
 * versions that carry the failed attempt (versioned bucket), which no decided-committed state
 * can name. On an unversioned bucket nothing is deleted: a DELETE by key that lands late would
 * remove the key's next commit (model fix); the attempt's object stays a stray until the key's
 * next commit overwrites it, and `verify` lists strays. With the window fence, `c.<n>` of an
 * ambiguous or revoked epoch waits `s3.lateWriteWindowMs` from this cleaner's own clock reading,
 * taken after its view found `e.<n>` and kept in the spool (jobs/spool/windows.ts).
 */
import type { FileHandle } from "../../runtime/types.ts";
import { type JobContext, targetFor } from "../context/job_context.ts";
import type { JournalEntry } from "../spool/journal.ts";
import { type NodeDirs, nodeDirs } from "../spool/layout.ts";
import { forgetUploads, uploadIdsOf } from "../spool/uploads.ts";
import { forgetWindow, windowStart } from "../spool/windows.ts";
import { crashPoint } from "../util/crash_points.ts";
import { type DeciderRole, newClean, type Outcome, recordName } from "./records.ts";
import { cleanupWaits, storeFence } from "./store_fence.ts";
import type { View } from "./view.ts";
import { createRecord } from "./xattr_record.ts";

export type CleanResult =
  | { kind: "cleaned"; deleted: number; aborted: number }
  /** The window has not passed since the cleaner's reading: `c.<n>` later (kept in windows/). */
  | { kind: "waiting"; until: number };

/**
 * Cleans the epoch of `entry` on the open file `handle` (whose inode is `entry.ino`). Call it
 * right after the view that found `e.<n>` decided (`outcome`): the window's reading is taken
 * here. `dirs`: the spool dirs of the node whose rollback finishes a waiting cleanup.
 */
export async function cleanEpoch(
  ctx: JobContext,
  dirs: NodeDirs,
  epoch: {
    handle: FileHandle;
    entry: JournalEntry;
    outcome: Outcome;
    view: View;
    by: { node: string; role: DeciderRole };
  },
): Promise<CleanResult> {
  const reading = Date.now();
  const { handle, entry, outcome, view } = epoch;
  const target = targetFor(ctx, entry.target);
  const fence = await storeFence(ctx.config, target);
  const owner = nodeDirs(ctx.config.spool, entry.node);
  const recorded = await uploadIdsOf(ctx.rt, owner, entry.attempt);
  let aborted = 0;
  for (const id of new Set([...entry.uploadIds, ...recorded]))
    if (await target.abortUpload(entry.key, id)) aborted++;
  let deleted = 0;
  if (fence === "versioned") {
    // The whole listing first: a version deleted while its page is the marker of the next one
    // makes RGW skip versions (measured: one of three left behind with 2 keys a page).
    const doomed: string[] = [];
    const named = view.current?.state.versionId;
    for await (const object of target.versionsOf(entry.key)) {
      const meta = object.meta;
      if (!meta || meta.ino !== entry.ino || meta.epoch !== entry.epoch) continue;
      if (entry.attempt !== "" && meta.attempt !== entry.attempt) continue;
      if (object.versionId === null || object.versionId === named) continue;
      doomed.push(object.versionId);
    }
    for (const versionId of doomed) {
      await target.delete(entry.key, versionId);
      deleted++;
    }
  }
  crashPoint(ctx.rt, "mid-rollback");
  if (cleanupWaits(fence, outcome)) {
    const since = await windowStart(ctx.rt, dirs, entry, reading);
    const until = since + ctx.config.s3.lateWriteWindowMs;
    if (Date.now() < until) return { kind: "waiting", until };
  }
  await createRecord(
    handle,
    recordName("c", entry.epoch),
    newClean({ n: entry.epoch, by: epoch.by }),
  );
  await forgetUploads(ctx.rt, owner, entry.attempt);
  await forgetWindow(ctx.rt, dirs, entry);
  return { kind: "cleaned", deleted, aborted };
}
