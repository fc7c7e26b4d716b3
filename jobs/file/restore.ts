/**
 * Restore one released file into its own inode (docs/tiering.md): under flock on one O_RDWR
 * descriptor and a held epoch (the "restoring" mark), GET the first chunk of the object the state
 * names with its headers, or HEAD it (missing or different: `lost`, the stub untouched), copy its bytes in (restore_copy.ts: only over a prefix
 * of them, fenced on ctime chunk by chunk), verify the file against the state's ETag, fsync,
 * check ctime once more and put the original mtime back (`mutant-restore-no-times-fence`), then
 * decide `restored` with the `migrated` state of the same object: a second release uploads
 * nothing. A crash anywhere leaves a prefix of the object's bytes, which the next restore
 * continues. An object in GLACIER or DEEP_ARCHIVE is first restored by the store (RestoreObject):
 * `restore-pending` until it is readable, the stub untouched.
 */
import { TargetError } from "../targets/errors.ts";
import type { StoredObject } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { holdPoint } from "../util/hold_points.ts";
import { pastClockTick } from "./clock_tick.ts";
import { etagCheckable, fileEtag } from "./content_etag.ts";
import type { FileJob } from "./file_job.ts";
import { skippedFor } from "./held_epoch.ts";
import type { FileOutcome } from "./outcome.ts";
import { noSpaceReason } from "./quota.ts";
import type { EpochOutcome, State } from "./records.ts";
import { withRestoreBuffer } from "./restore_budget.ts";
import { type CopyResult, copyInto, RESTORE_CHUNK } from "./restore_copy.ts";
import { decideTier, revokedTier } from "./tier_decide.ts";
import { type TierHeld, withTierEpoch } from "./tier_file.ts";

type CopiedBytes = Extract<CopyResult, { ok: true }>;

/** How long the store keeps a restored copy of an archived object readable. */
const RESTORE_DAYS = 7;

export function restoreFile(
  job: FileJob,
  path: string,
  options: { force?: boolean } = {},
): Promise<FileOutcome> {
  return withTierEpoch(job, path, "restore", {
    before: async (file, view) => {
      const state = view.current?.state;
      if (!state || state.state === "removed")
        return { kind: "refused", path: file.path, reason: "not migrated: nothing to restore" };
      if (state.state === "released") return null;
      // Its bytes are here (never released, or restored already): nothing restored, and the
      // events and counts must not say otherwise (docs/tiering.md, restore step 2).
      return skippedFor(file.path, state, job.task.id);
    },
    held: (held) => restoreHeld(held, options),
  });
}

/**
 * The object the state names (null: missing), as HEAD describes it, with its first chunk when
 * the store gives it: one GET instead of a HEAD and a GET, which for a file of one chunk is the
 * whole transfer; a resumed restore compares the file's prefix with it instead of reading it
 * again (restore_copy.ts). An archived object not restored yet refuses the GET: its HEAD says
 * what to do.
 */
async function objectOf(
  job: FileJob,
  state: State,
): Promise<{ object: StoredObject | null; first?: Uint8Array }> {
  const version = state.versionId ?? null;
  if (state.size === 0) return { object: await job.target.head(state.key, version) };
  try {
    const length = Math.min(RESTORE_CHUNK, state.size);
    const got = await job.target.readFirst(state.key, version, length);
    return got ? { object: got.object, first: got.bytes } : { object: null };
  } catch (err) {
    if (!(err instanceof TargetError && err.storeCode === "InvalidObjectState")) throw err;
    return { object: await job.target.head(state.key, version) };
  }
}

/** Decides a stateless outcome and returns `result`, or revoked when someone decided first. */
async function settleTier(
  held: TierHeld,
  outcome: EpochOutcome,
  result: FileOutcome,
  error?: string,
): Promise<FileOutcome> {
  const decided = await decideTier(held, outcome, error === undefined ? {} : { error });
  return decided ? result : revokedTier(held, outcome);
}

async function restoreHeld(held: TierHeld, options: { force?: boolean }): Promise<FileOutcome> {
  const { job, file, view } = held;
  const { handle, path } = file;
  crashPoint(job.rt, "restore-after-take");
  const state = view.current?.state;
  if (state?.state !== "released") {
    const done: FileOutcome = state
      ? skippedFor(path, state, job.task.id)
      : { kind: "refused", path, reason: "not migrated: nothing to restore" };
    return await settleTier(held, "skipped", done);
  }
  // Test-only (jobs/util/hold_points.ts): the soak writes into the stub here; restore must not
  // lose that write (it stays, and the restore ends dirty).
  const afterTake = holdPoint(job.rt, "restore-after-take", { path, ino: state.ino });
  if (afterTake) await afterTake;
  const dirty = (reason: string) =>
    settleTier(held, "dirty", { kind: "dirty", path, key: state.key, reason }, reason);
  // The chunk buffer is held from the first GET to the end of the copy (restore_budget.ts).
  const got = await withRestoreBuffer(job.config, state.size, job.signal, () =>
    copyObject(held, state, options),
  );
  if (got === "stopped") {
    // A stop while waiting for the budget: nothing read or written, the stub as it was.
    const stopped: FileOutcome = {
      kind: "interrupted",
      path,
      key: state.key,
      attempt: held.attempt,
    };
    return await settleTier(held, "aborted", stopped, "stopped before its copy began");
  }
  if ("kind" in got) return got;
  const { copied, partSize } = got;
  crashPoint(job.rt, "restore-after-copy");
  // A write from here on must get another ctime than the copy's last write, or the last fence
  // below would take it for ours and dress it as restored: one before is in the bytes the verify
  // reads, one after has a later ctime once the clock is a tick past (clock_tick.ts).
  await pastClockTick(copied.baseline.ctimeNs);
  const etag = await fileEtag(job.rt, handle, state.size, state.etag, partSize);
  if (etag !== state.etag)
    return await dirty(
      `its bytes give ETag ${etag} after the copy, not ${state.etag}: written to during the restore`,
    );
  await handle.sync();
  crashPoint(job.rt, "restore-before-times");
  // The last fence: a write after the verify must not get the original mtime back.
  const now = await handle.stat();
  if (now.ctimeNs !== copied.baseline.ctimeNs || now.size !== state.size)
    return await dirty("written to after the restore's copy: the mtime was not put back");
  await handle.setTimes(undefined, state.mtimeNs);
  crashPoint(job.rt, "restore-after-times");
  const { releasedAt: _, releasedTask: __, releasedAttempt: ___, ...rest } = state;
  const restored: State = { ...rest, state: "migrated" };
  if (!(await decideTier(held, "restored", { state: restored })))
    return revokedTier(held, "restore");
  return { kind: "restored", path, key: state.key, bytes: state.size };
}

/** GETs the object the state names and copies its bytes in: the copy, or the decided outcome. */
async function copyObject(
  held: TierHeld,
  state: State,
  options: { force?: boolean },
): Promise<FileOutcome | { copied: CopiedBytes; partSize: number | undefined }> {
  const { job, file } = held;
  const { handle, path } = file;
  const lost = (reason: string) =>
    settleTier(held, "lost", { kind: "lost", path, key: state.key, reason }, reason);
  const dirty = (reason: string) =>
    settleTier(held, "dirty", { kind: "dirty", path, key: state.key, reason }, reason);
  // Restore reads only from the configured target: the state is an xattr its file's owner can
  // write, so a target it names is not trusted to be read from (another bucket, any file://).
  if (state.target !== job.target.url) {
    const reason = `its state names target ${state.target}, not the configured ${job.target.url}: restore reads only from the configured target; point \`target\` at ${state.target} to restore it (nothing was read or written)`;
    return await settleTier(held, "refused", { kind: "refused", path, reason }, reason);
  }
  const { object, first } = await objectOf(job, state);
  if (!object) return await lost(`its object ${state.key} is missing from ${state.target}`);
  if (object.size !== state.size || object.etag !== state.etag)
    return await lost(
      `its object ${state.key} differs from the released file (size ${object.size}, ETag ${object.etag}; released ${state.size}, ${state.etag})`,
    );
  // An archived object is not readable until the store restores it (RestoreObject, hours); one
  // whose first bytes came back is readable now.
  const archived = object.storageClass === "GLACIER" || object.storageClass === "DEEP_ARCHIVE";
  if (archived && object.restore !== "done" && !first) {
    if (object.restore !== "ongoing")
      await job.target.requestRestore(state.key, state.versionId ?? null, RESTORE_DAYS);
    const storageClass = object.storageClass as string;
    const pending: FileOutcome = { kind: "restore-pending", path, key: state.key, storageClass };
    return await settleTier(held, "pending", pending, `${storageClass}: restore requested`);
  }
  const partSize = object.meta?.partSize;
  const uncheckable = etagCheckable(state.etag, partSize);
  if (uncheckable) {
    const reason = `cannot verify the bytes: ${uncheckable}`;
    return await settleTier(held, "refused", { kind: "refused", path, reason }, reason);
  }
  const copied = await copyInto(job, handle, state, { ...options, first });
  if (!copied.ok) {
    if (copied.kind === "lost") return await lost(copied.reason);
    if (copied.kind === "dirty") return await dirty(copied.reason);
    if (copied.kind === "interrupted") {
      const { attempt } = held;
      const stopped: FileOutcome = { kind: "interrupted", path, key: state.key, attempt };
      return await settleTier(held, "aborted", stopped, "stopped past shutdown.graceMs");
    }
    const error = await noSpaceReason(job.rt, path, job.config.root, copied.code);
    const failed: FileOutcome = {
      kind: "failed",
      path,
      key: state.key,
      attempt: held.attempt,
      error,
    };
    return await settleTier(held, "aborted", failed, error);
  }
  return { copied, partSize };
}
