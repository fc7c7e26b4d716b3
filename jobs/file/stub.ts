/**
 * Migrate meets a released file (docs/tiering.md): it never uploads it. A stub (size 0) would
 * replace the only copy with nothing; a stub written to (dirty) would replace it with new bytes
 * while the state still names the old ones (model: `mutant-migrate-stub`); a stub holding the
 * first bytes of its object (a restore, or a release, that stopped part way) would archive part
 * of the file as the whole of it.
 */
import type { FileHandle, FileStat } from "../../runtime/types.ts";
import type { FileJob } from "./file_job.ts";
import { skippedFor } from "./held_epoch.ts";
import type { FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";
import { notPrefix } from "./restore_copy.ts";
import { readerOf } from "./restore_range.ts";

/**
 * The outcome of migrate for a file whose current state is `released`: `skipped` for a stub at
 * its own key, else refused or dirty; null otherwise (also for a dirty stub on a versioned
 * bucket: its new bytes become a new version, and the released bytes keep theirs, which nothing
 * deletes).
 */
export async function refuseReleased(
  job: FileJob,
  file: { path: string; handle: FileHandle; key: string },
  state: State | undefined,
  stat: FileStat,
): Promise<FileOutcome | null> {
  if (state?.state !== "released") return null;
  const { path } = file;
  // A stub at its own key on this target is archived already: nothing to do, nothing wrong (a
  // tree resubmitted with its stubs must not need an operator every night).
  if (stat.size === 0 && state.key === file.key && state.target === job.target.url)
    return skippedFor(path, state, job.task.id);
  if (stat.size === 0)
    return {
      kind: "refused",
      path,
      reason: `released (a stub of ${state.size} bytes archived at ${state.target} ${state.key}, not this path's key on this target: renamed, or the target changed): not uploaded; restore it first`,
    };
  const partial = await holdsObjectPrefix(job, file.handle, state, stat.size).catch(
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  if (partial instanceof Error)
    return {
      kind: "refused",
      path,
      reason: `released, and holds ${stat.size} bytes; comparing them with its object ${state.key} failed (${partial.message}): not uploaded; migrate it again once the store answers`,
    };
  if (partial)
    return {
      kind: "refused",
      path,
      reason: `released, and holds the first ${stat.size} of its ${state.size} archived bytes (a restore or a release that stopped part way): not uploaded, which would archive part of the file as all of it; restore it to finish`,
    };
  // Asked only here: an ordinary migrate makes no store call before its upload.
  if (state.versionId && (await keepsVersions(job))) return null;
  return {
    kind: "dirty",
    path,
    key: state.key,
    reason: `released, then written to (${stat.size} bytes now): not uploaded over the only copy of the released bytes at ${state.key} (an unversioned bucket); keep the new bytes elsewhere, or restore --force to bring the released ones back`,
  };
}

/**
 * Whether the file's `size` bytes are the first bytes of the object the state names (read from
 * its target): false for new bytes, and for an object gone or changed (nothing left to finish).
 */
async function holdsObjectPrefix(
  job: FileJob,
  handle: FileHandle,
  state: State,
  size: number,
): Promise<boolean> {
  return (await notPrefix(readerOf(job, state), handle, state, size, undefined)) === null;
}

/** Whether the job's target keeps versions (opened once; a failure is the upload's to report). */
export async function keepsVersions(job: FileJob): Promise<boolean> {
  try {
    await job.target.open();
    return job.target.fence === "versioned";
  } catch {
    return false;
  }
}
