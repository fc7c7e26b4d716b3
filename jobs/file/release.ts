/**
 * Release one file (docs/tiering.md): under flock on one O_RDWR descriptor and a held epoch,
 * check that the current state is a `migrated` commit for this path, target and version, that no
 * `norelease` mark is set, and that the object is there (HEAD: size, ETag, attempt); optionally
 * that the file's bytes give the state's ETag. Then decide `released` (before any byte is freed:
 * `design-truncate-first`), re-check under the lock (the decision still counts, the file
 * unchanged), truncate to 0 and put the original mtime back. A write landing between the
 * re-check and the truncate is lost: I7's window, two syscalls wide.
 */
import type { FileStat } from "../../runtime/types.ts";
import { crashPoint } from "../util/crash_points.ts";
import { holdPoint } from "../util/hold_points.ts";
import { etagCheckable, fileEtag } from "./content_etag.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { skippedFor } from "./held_epoch.ts";
import type { FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";
import { decideTier, decideTierLeavingGarbage, revokedTier } from "./tier_decide.ts";
import { type Marked, type TierHeld, withTierEpoch } from "./tier_file.ts";
import { DECISIONS, isCommitFor, type View, viewAfterTake } from "./view.ts";
import { readNothingMore } from "./view_reads.ts";

export const NORELEASE = "user.tiermv.norelease";

export interface ReleaseOptions {
  /** restore --force: overwrite a dirty stub's bytes with the archived ones. */
  force?: boolean;
  /** Also compare the file's bytes with the state's ETag (MD5, or multipart from the part size). */
  verifyContent?: boolean;
  /** Check everything, take no epoch, free nothing: `refused` or `released` as it would be. */
  dryRun?: boolean;
}

export function releaseFile(job: FileJob, path: string, options: ReleaseOptions = {}) {
  return withTierEpoch(job, path, "release", {
    mark: NORELEASE,
    before: async (file, view, marked) => {
      const refusal = await refusalOf(job, file, view, marked);
      if (refusal !== undefined) return refusal;
      return options.dryRun ? await dryRun(job, file, view, options) : null;
    },
    held: (held) => releaseHeld(held, options),
  });
}

/**
 * Why the file is not released, from the view and the descriptor (no store call). The fstat and
 * the read of the norelease mark go in one hand-off (`marked`: in the view's, right after its
 * reads): the mark is read even for a file refused before it counts (a read more, no effect on
 * the file).
 */
async function refusalOf(
  job: FileJob,
  file: OpenFile,
  view: Pick<View, "current">,
  marked: Marked,
): Promise<FileOutcome | undefined> {
  const { path, handle } = file;
  const state = view.current?.state;
  const { stat, value: norelease } = marked
    ? await marked()
    : await handle.statThenGetXattr(NORELEASE);
  const refused = (reason: string): FileOutcome => ({ kind: "refused", path, reason });
  if (!state) return refused("not migrated: no state");
  if (state.state === "removed") return refused("not migrated: its archived copy was removed");
  if (state.state === "released") {
    // Nothing to do: skipped, as restore says of a file with nothing to restore (a `released`
    // here counted a release in events and /metrics that never happened). But this very task
    // run again (a scheduler's, after a crash): its own release, whose event and counts may have
    // died with the process, is reported again, with the same event id (at least once, as
    // migrate re-reports its own commits).
    // Its own: this task, this path's key and target (a hard link to a file the task released
    // under another name shares the state, and is skipped).
    const own =
      state.releasedTask === job.task.id &&
      state.key === file.key &&
      state.target === job.target.url;
    if (stat.size === 0)
      return own
        ? {
            kind: "released",
            path,
            key: state.key,
            bytes: state.size,
            resumed: true,
            ...(state.releasedAttempt ? { attempt: state.releasedAttempt } : {}),
          }
        : skippedFor(path, state, job.task.id);
    if (stat.size === state.size && stat.mtimeNs === state.mtimeNs)
      return refused(
        "released, but its bytes are still there (a release interrupted before its truncate): restore it, then release again",
      );
    // Fewer bytes than archived: a restore that stopped part way (restore finishes it) or a
    // write (restore reports it dirty); release reads no object to tell which (verify does).
    if (stat.size < state.size)
      return refused(
        `released, and holds ${stat.size} of its ${state.size} archived bytes (a restore that stopped part way, or a write): restore it first (it finishes the one and reports the other dirty)`,
      );
    return {
      kind: "dirty",
      path,
      key: state.key,
      reason: `written to since its release (${stat.size} bytes now)`,
    };
  }
  // This path's key on this target, and the descriptor's version (model: mutant-release-other-key).
  const identity = { key: file.key, target: job.target.url, stat };
  const refusal = committedRefusal(state, identity, norelease !== null, job.config.s3);
  return refusal === undefined ? undefined : refused(refusal.reason);
}

/** What keeps a committed file from release, by kind (scan counts kinds) and with its reason. */
export type CommittedRefusal = {
  kind: "other-key" | "changed" | "norelease" | "unversioned";
  reason: string;
};

/**
 * Why a file whose state is not released is not released, from its state alone (no store
 * call): another key or target, changed since its commit, the norelease mark, no version. Also
 * `scan --action release`'s, so that what it counts is what release would take.
 */
export function committedRefusal(
  state: State,
  identity: { key: string; target: string; stat: FileStat },
  norelease: boolean,
  s3: { releaseUnversioned: boolean },
): CommittedRefusal | undefined {
  if (state.key !== identity.key || state.target !== identity.target)
    return {
      kind: "other-key",
      reason: `its state names ${state.target} ${state.key}, not this path's key on this target (renamed, or the target changed): migrate it first`,
    };
  if (!isCommitFor(state, identity))
    return {
      kind: "changed",
      reason: "changed since it was migrated (size, mtime or inode): migrate it first",
    };
  if (norelease) return { kind: "norelease", reason: `marked ${NORELEASE}` };
  // Without a version id, a later upload to this key (a new file at a renamed stub's path)
  // would overwrite the stub's only copy: release there only when the operator says so.
  if (state.versionId === undefined && !s3.releaseUnversioned) {
    const fix = state.target.startsWith("file://")
      ? "a file:// target keeps one copy per key (it is for demos and tests); set s3.releaseUnversioned to release there anyway"
      : "enable versioning on the bucket, or set s3.releaseUnversioned";
    return {
      kind: "unversioned",
      reason: `its object ${state.key} is not versioned: a new file migrated to this key would overwrite the released bytes; ${fix} (docs/tiering.md)`,
    };
  }
  return undefined;
}

/** The HEAD check (and the content check): null when the object is the state's. */
async function objectRefusal(
  job: FileJob,
  file: OpenFile,
  state: State,
  options: ReleaseOptions,
): Promise<string | null> {
  const object = await job.target.head(state.key, state.versionId ?? null);
  if (!object) return `its object ${state.key} is missing`;
  if (object.size !== state.size || object.etag !== state.etag)
    return `its object ${state.key} differs from the state (size ${object.size}, ETag ${object.etag}; the state says ${state.size}, ${state.etag})`;
  if (object.meta && object.meta.attempt !== state.attempt)
    return `its object ${state.key} was written by another attempt (${object.meta.attempt}, not ${state.attempt})`;
  if (!options.verifyContent) return null;
  const partSize = object.meta?.partSize;
  const unknown = etagCheckable(state.etag, partSize);
  if (unknown) return `--verify-content: ${unknown}`;
  const etag = await fileEtag(job.rt, file.handle, state.size, state.etag, partSize);
  return etag === state.etag
    ? null
    : `--verify-content: the file's bytes give ETag ${etag}, the state's is ${state.etag}`;
}

async function dryRun(
  job: FileJob,
  file: OpenFile,
  view: Pick<View, "current">,
  options: ReleaseOptions,
): Promise<FileOutcome> {
  const state = view.current?.state as State;
  const refusal = await objectRefusal(job, file, state, options);
  if (refusal) return { kind: "refused", path: file.path, reason: refusal };
  return { kind: "released", path: file.path, key: state.key, bytes: state.size, dryRun: true };
}

async function releaseHeld(held: TierHeld, options: ReleaseOptions): Promise<FileOutcome> {
  const { job, file, view } = held;
  const { handle, path } = file;
  crashPoint(job.rt, "release-after-take");
  const refusal = await refusalOf(job, file, view, held.marked);
  const state = view.current?.state;
  const reason =
    refusal?.kind === "refused"
      ? refusal.reason
      : refusal
        ? `${refusal.kind === "skipped" || refusal.kind === "released" ? "released by another attempt" : refusal.kind} since the view before the take`
        : await objectRefusal(job, file, state as State, options);
  if (reason !== null || !state) {
    if (!(await decideTier(held, "refused", { error: reason ?? "no state" })))
      return revokedTier(held, "refused");
    return { kind: "refused", path, reason: reason ?? "no state" };
  }
  const released: State = {
    ...state,
    state: "released",
    releasedAt: new Date().toISOString(),
    releasedTask: job.task.id,
    releasedAttempt: held.attempt,
  };
  // Its GC goes in the re-check's hand-off, right before it (the same calls in the same order).
  const garbage = await decideTierLeavingGarbage(held, "released", { state: released });
  if (!garbage) return revokedTier(held, "release");
  crashPoint(job.rt, "release-after-decide");
  const beforeRecheck = holdPoint(job.rt, "release-after-decide", { path, ino: state.ino });
  if (beforeRecheck) await beforeRecheck;
  // The re-check under the lock, right before the truncate (model: mutant-release-no-recheck).
  const { now, stat } = await recheck(held, garbage);
  if (now.current?.epoch !== held.n)
    return revokedTier(held, "release (a later decision counts now; nothing truncated)");
  if (stat.size !== state.size || stat.mtimeNs !== state.mtimeNs || stat.ino !== state.ino)
    return {
      kind: "dirty",
      path,
      key: state.key,
      reason: "written to between release's decision and its truncate: not truncated",
    };
  // I7's window: a write landing from here to the truncate is lost (the soak aims at it).
  crashPoint(job.rt, "release-before-truncate");
  const inWindow = holdPoint(job.rt, "release-before-truncate", { path, ino: state.ino });
  if (inWindow) await inWindow;
  await handle.truncate(0);
  crashPoint(job.rt, "release-after-truncate");
  const truncated = holdPoint(job.rt, "release-after-truncate", { path, ino: state.ino });
  if (truncated) await truncated;
  await handle.setTimes(undefined, state.mtimeNs);
  return { kind: "released", path, key: state.key, bytes: state.size, attempt: held.attempt };
}

/**
 * The decision's GC (`garbage`), then the re-check's view (the current state's epoch; who holds
 * the file is not read) and fstat, in one hand-off: fremovexattr of each name, flistxattr,
 * fgetxattr of the latest decision, fstat. When the view had to
 * read more (a decision without a state above ours), the fstat is made again after those reads,
 * so that it stays the last call before the truncate (I7's window). When the state is not ours
 * nothing is truncated and the fstat does not matter.
 */
async function recheck(
  held: TierHeld,
  garbage: string[],
): Promise<{ now: Omit<View, "hold">; stat: FileStat }> {
  const { handle } = held.file;
  const { listing, stat } = await handle.listTopThenStat(DECISIONS, garbage);
  const now = await viewAfterTake(handle, listing);
  const ours = now.current?.epoch === held.n;
  return { now, stat: !ours || readNothingMore(now, listing) ? stat : await handle.stat() };
}
