/**
 * Migrate meets a released file (docs/tiering.md): it never uploads it. A stub (size 0) would
 * replace the only copy with nothing; a stub written to (dirty) would replace it with new bytes
 * while the state still names the old ones (model: `mutant-migrate-stub`).
 */
import type { FileStat } from "../../runtime/types.ts";
import type { FileJob } from "./file_job.ts";
import type { FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";

/**
 * The outcome of migrate for a file whose current state is `released`; null otherwise (also for
 * a dirty stub on a versioned bucket: its new bytes become a new version, and the released bytes
 * keep theirs, which nothing deletes).
 */
export async function refuseReleased(
  job: FileJob,
  path: string,
  state: State | undefined,
  stat: FileStat,
): Promise<FileOutcome | null> {
  if (state?.state !== "released") return null;
  // Asked only here: an ordinary migrate makes no store call before its upload.
  if (stat.size > 0 && state.versionId && (await keepsVersions(job))) return null;
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
    reason: `released, then written to (${stat.size} bytes now): not uploaded over the only copy of the released bytes at ${state.key} (an unversioned bucket); keep the new bytes elsewhere, or restore --force to bring the released ones back`,
  };
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
