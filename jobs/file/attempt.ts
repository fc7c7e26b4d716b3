/**
 * One attempt at epoch n (docs/protocol-v2.md section 4, steps 3 to 6), on the attempt's one
 * descriptor: take `l.<n>` (XATTR_CREATE), view again (max must still be n), fstat (the version
 * the commit records and ctime's baseline), upload under the epoch's write guard, verify (fstat:
 * size, mtime, inode and ctime unchanged; `lstat(path)` still our inode), decide `e.<n>`, GC.
 * A failure journals the epoch, then decides it `failed`: it stays held until rollback cleans it.
 */
import { MountUnavailableError } from "../../runtime/errors.ts";
import { type StoredObject, TargetError, TargetUnavailableError } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { newAttemptId } from "../util/ids.ts";
import { EpochGuard, EpochLostError } from "./epoch_guard.ts";
import { failureCode, failureScope } from "./failure_scope.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { fail, type Held, interrupt, revoked, settle, skippedFor } from "./held_epoch.ts";
import { probeMount, probeMountWrite, probeTarget } from "./isolate.ts";
import { abandonAttempt } from "./liveness.ts";
import { busy, type FileOutcome } from "./outcome.ts";
import { type EpochOutcome, newTake, recordName } from "./records.ts";
import { type StoreFence, storeFence, unansweredIsAmbiguous } from "./store_fence.ts";
import { refuseReleased } from "./stub.ts";
import { READ_WITH_STAT_MAX, uploadWithRetry } from "./upload.ts";
import { changedOutcome, changeSinceLocked, verifyAndCommit } from "./verify_commit.ts";
import { isCommitFor, viewAfterTake } from "./view.ts";
import { createRecordThenList } from "./xattr_record.ts";

/** Takes epoch `n` and runs the attempt to its decision. */
export async function attemptEpoch(job: FileJob, file: OpenFile, n: number): Promise<FileOutcome> {
  const { rt } = job;
  const { handle, path, key } = file;
  const attempt = newAttemptId();
  const proc = rt.process.identity();
  const target = job.target.url;
  const take = newTake({ n, attempt, node: job.node, task: job.task.id, proc, key, target });
  let listed: string[] | null;
  try {
    // The take and the listing of the view after it, in one hand-off (the same two calls).
    listed = await createRecordThenList(handle, recordName("l", n), take);
  } catch (err) {
    // Timed out (the take may still land) or the listing failed after it: as below.
    abandonAttempt(attempt);
    throw err;
  }
  if (!listed) return busy(path, `epoch ${n} was just taken by another attempt`);
  crashPoint(rt, "after-lock");
  try {
    return await held(job, file, { n, attempt, listed });
  } catch (err) {
    // A call on the mount failed or timed out (and may still land): do nothing more on this
    // epoch. It stays undecided; once no call of ours is stuck, the next visit resolves it as
    // this node's own dead attempt (docs/protocol-v2.md section 7).
    abandonAttempt(attempt);
    throw err;
  }
}

async function held(
  job: FileJob,
  file: OpenFile,
  epoch: { n: number; attempt: string; listed: string[] },
): Promise<FileOutcome> {
  const { rt } = job;
  const { handle, path, key } = file;
  const { n, attempt } = epoch;
  const target = job.target.url;
  // The view after the take: a name we created was a late re-creation of a garbage-collected
  // epoch if max is not n: abandon it, writing nothing more (mutant-no-take-view).
  const view = await viewAfterTake(handle, epoch.listed);
  if (view.max !== n) return busy(path, `epoch ${n} was garbage-collected; max is ${view.max}`);
  const current = view.current?.state;
  // Step 3's fstat; a small file's body is read in the same hand-off, unless it is released
  // (refused below, never uploaded).
  const { stat: locked, head } =
    current?.state === "released"
      ? { stat: await handle.stat(), head: null }
      : await handle.statThenRead(READ_WITH_STAT_MAX);
  const guard = new EpochGuard(rt, { handle, dirs: job.dirs, n, attempt, key, target });
  const taken: Held = { job, file, n, attempt, locked, head, guard };
  // A released file: never upload a stub (docs/tiering.md); its bytes are compared with its
  // object here, under the epoch (stub.ts).
  let released: FileOutcome | null;
  try {
    released = await refuseReleased(job, file, current, locked);
  } catch (err) {
    return await compareFailed(taken, err);
  }
  if (released)
    return await settle(taken, STUB_DECISION[released.kind] ?? "refused", () => released);
  if (isCommitFor(current, { key, target, stat: locked }))
    return await settle(taken, "skipped", () => skippedFor(path, current, job.task.id));
  return await upload(taken);
}

async function upload(held: Held): Promise<FileOutcome> {
  const { job, file, guard } = held;
  let fence: StoreFence = "versioned";
  let stored: StoredObject;
  try {
    fence = await storeFence(job.config, job.target);
    const { locked: stat, attempt, n, head } = held;
    crashPoint(job.rt, "before-upload");
    stored = await uploadWithRetry(job, { ...file, stat, attempt, n, guard, head });
  } catch (err) {
    if (err instanceof EpochLostError) return revoked(held, err.message);
    if (err instanceof MountUnavailableError) throw err; // undecided; resolved once we are gone
    return await uploadFailed(held, err, unansweredIsAmbiguous(fence) && guard.unanswered > 0);
  }
  // Rule 3 of the window fence: an unanswered write may land later, even if a retry succeeded.
  if (unansweredIsAmbiguous(fence) && guard.unanswered > 0)
    return await fail(held, `${guard.unanswered} store writes got no answer`, true);
  crashPoint(job.rt, "after-upload");
  return await verifyAndCommit(held, stored);
}

/**
 * A failed upload. Nothing can land when every write sent got an answer (an error status, a
 * refused connection) and no multipart upload exists: the epoch is then given back, decided
 * `aborted` (docs/protocol-v2.md section 2: nothing stored, no cleanup, the file is free).
 * Otherwise safety wins: journal and decide `failed` (held until rollback cleans it).
 * A target-wide error confirmed by the probe is thrown after the decision (the tick stops);
 * one the probe does not reproduce, or a 400 for this key, is the file's `error`.
 */
async function uploadFailed(held: Held, err: unknown, ambiguous: boolean): Promise<FileOutcome> {
  const { job, file, guard } = held;
  const message = (err as Error).message;
  // A stop (SIGTERM) cut the upload or its retries: journalled once, decided `interrupted`.
  if (job.signal?.aborted) return await interrupt(held, message, ambiguous);
  const nothingStored = guard.unanswered === 0 && guard.uploadIds.length === 0;
  const scope = failureScope(err);
  if (scope === "target" || scope === "target-down") {
    const down = await targetDown(job, err);
    if (down && nothingStored) {
      // Nothing can land: the epoch is given back (decided `aborted`), nothing is journalled,
      // and the file has no outcome (its task goes back to pending and visits it again).
      await settle(held, "aborted", () => busy(file.path, "target down"));
      throw down;
    }
    if (down) {
      // A write may land later: the protocol's rule wins (journalled, held until cleaned); the
      // file's outcome is recorded, then the task stops (migrate.ts reads job.halt).
      job.halt = down;
      return await fail(held, message, ambiguous);
    }
  }
  // A read of the file failed in a way that could be mount-wide: a failed probe of the root
  // throws (the epoch stays undecided, abandoned: attemptEpoch), a passing one makes it the file's.
  if (scope === "mount") await probeMount(job, err);
  if (scope === "mount-write") await probeMountWrite(job, err);
  const transient = err instanceof TargetError && err.kind === "transient";
  // A body the store refused for its digest (BadDigest) or that ended short: the file changed
  // while it was read. Nothing was stored: the outcome is the change, as verify finds it.
  if (nothingStored && err instanceof TargetError && err.kind === "permanent") {
    const change = await changeSinceLocked(held);
    if (change) return await settle(held, change, () => changedOutcome(held, change));
  }
  if (nothingStored && !transient && scope !== "program") {
    const code = failureCode(err);
    return await settle(held, "aborted", () => ({
      kind: "error",
      path: file.path,
      error: message,
      ...(code ? { code } : {}),
    }));
  }
  return await fail(held, message, ambiguous);
}

/** How the epoch is decided for a stub's outcome (attempt.ts held, stub.ts). */
const STUB_DECISION: Partial<Record<FileOutcome["kind"], EpochOutcome>> = {
  skipped: "skipped",
  lost: "lost",
  dirty: "dirty",
  refused: "refused",
};

/**
 * The comparison of a released file's bytes with its object failed (stub.ts): nothing was
 * stored. A mount call past its deadline (or any error that is not the store's) goes up, the
 * epoch left undecided (attemptEpoch); a store down, confirmed by its probe, gives the epoch
 * back and stops the tick; any other store error is this file's `error`, the epoch given back.
 */
async function compareFailed(held: Held, err: unknown): Promise<FileOutcome> {
  if (!(err instanceof TargetError)) throw err;
  const { job, file } = held;
  const scope = failureScope(err);
  const down = scope === "target" || scope === "target-down" ? await targetDown(job, err) : null;
  if (down) {
    await settle(held, "aborted", () => busy(file.path, "target down"));
    throw down;
  }
  const archived = err.storeCode === "InvalidObjectState";
  const error = archived
    ? `released, and its object is in an archive class, not readable to compare with the ${held.locked.size} bytes here: restore it first (the store restores the object, then restore brings it back)`
    : `released, with ${held.locked.size} bytes here; comparing them with its object failed: ${err.message}`;
  const code = failureCode(err);
  return await settle(held, "aborted", () => ({
    kind: "error",
    path: file.path,
    error,
    ...(code ? { code } : {}),
  }));
}

/** The target's probe after `err`: its TargetUnavailableError when it failed, else null. */
async function targetDown(job: FileJob, err: unknown): Promise<TargetUnavailableError | null> {
  if (err instanceof TargetUnavailableError) return err;
  try {
    await probeTarget(job, err);
    return null;
  } catch (probed) {
    if (probed instanceof TargetUnavailableError) return probed;
    throw probed;
  }
}
