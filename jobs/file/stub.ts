/**
 * Migrate meets a released file (docs/tiering.md): it never uploads it. A stub (size 0) would
 * replace the only copy with nothing; a stub written to (dirty) would replace it with new bytes
 * while the state still names the old ones (model: `mutant-migrate-stub`); a stub holding the
 * first bytes of its object (a restore, or a release, that stopped part way) would archive part
 * of the file as the whole of it.
 *
 * Two steps: what the state and the size decide alone (stubDecision, before the take: no store
 * call, so a file another process holds is left to the hold's rules, busy), then, under the
 * epoch, the comparison of a stub's bytes with its object (refuseReleased). The comparison's
 * errors go up to the caller (attempt.ts), which decides the epoch as for any read.
 */
import type { FileHandle, FileStat } from "../../runtime/types.ts";
import type { FileJob } from "./file_job.ts";
import { skippedFor } from "./held_epoch.ts";
import type { FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";
import { notPrefix } from "./restore_copy.ts";

type StubFile = { path: string; handle: FileHandle; key: string };

/**
 * What a released state decides without the store: `skipped` for a stub at its own key on this
 * target (archived already: a tree resubmitted with its stubs needs no operator), `refused` for
 * a stub whose state names another key or target; "compare" for a file with bytes (decided under
 * the epoch, refuseReleased); null when the state is not `released`.
 */
export function stubDecision(
  job: FileJob,
  file: StubFile,
  state: State | undefined,
  stat: FileStat,
): FileOutcome | "compare" | null {
  if (state?.state !== "released") return null;
  const own = state.key === file.key && state.target === job.target.url;
  if (stat.size === 0 && own) return skippedFor(file.path, state, job.task.id);
  if (stat.size === 0 || state.target !== job.target.url)
    return {
      kind: "refused",
      path: file.path,
      reason: `released (${state.size} bytes archived at ${state.target} ${state.key}, not this path's key on this target: renamed, or the target changed); ${stat.size} bytes here: not uploaded; restore it first`,
    };
  return "compare";
}

/**
 * The outcome of migrate for a file whose current state is `released`, under its epoch; null
 * otherwise (also for a stub written to on a versioned bucket: its new bytes become a new
 * version, and the released bytes keep theirs, which nothing deletes). Store and mount errors
 * of the comparison are thrown.
 */
export async function refuseReleased(
  job: FileJob,
  file: StubFile,
  state: State | undefined,
  stat: FileStat,
): Promise<FileOutcome | null> {
  const decided = stubDecision(job, file, state, stat);
  if (decided !== "compare") return decided;
  if (state?.state !== "released") return null;
  const { path } = file;
  const bytes = await objectPrefix(job, file.handle, state, stat.size);
  if (bytes.kind === "prefix")
    return {
      kind: "refused",
      path,
      reason: `${partialReason(state, stat.size)}; not uploaded, which would archive part of the file as all of it`,
    };
  if (bytes.kind === "lost")
    // The released bytes are gone: uploading what the file holds would hide that (verify: lost).
    return {
      kind: "lost",
      path,
      key: state.key,
      reason: `released, and ${bytes.reason}: the released bytes are lost; the ${stat.size} bytes here are not uploaded`,
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

/** Why a released file holding its object's first bytes is partial, and what finishes it. */
export function partialReason(state: State, size: number): string {
  return `released, and holds the first ${size} of its ${state.size} archived bytes (a restore or a release that stopped part way): restore it to finish`;
}

/**
 * Whether the file's `size` bytes are the first bytes of the object the state names on the
 * job's target (`prefix`), other bytes (`other`), or the object is gone or changed (`lost`).
 * Reads the object in 1 MiB ranges up to `size` (restore_copy.ts notPrefix).
 */
export async function objectPrefix(
  job: Pick<FileJob, "target">,
  handle: FileHandle,
  state: State,
  size: number,
): Promise<{ kind: "prefix" | "other" } | { kind: "lost"; reason: string }> {
  const found = await notPrefix(job, handle, state, size, undefined);
  if (found === null) return { kind: "prefix" };
  if (!found.ok && found.kind === "lost") return { kind: "lost", reason: found.reason };
  return { kind: "other" };
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
