/**
 * One attempt at epoch n (docs/protocol-v2.md section 4, steps 3 to 6), on the attempt's one
 * descriptor: take `l.<n>` (XATTR_CREATE), view again (max must still be n), fstat (the version
 * the commit records and ctime's baseline), upload under the epoch's write guard, verify (fstat:
 * size, mtime, inode and ctime unchanged; `lstat(path)` still our inode), decide `e.<n>`, GC.
 * A failure journals the epoch, then decides it `failed`: it stays held until rollback cleans it.
 */
import { MountUnavailableError } from "../../runtime/errors.ts";
import { type StoredObject, TargetError } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { newAttemptId } from "../util/ids.ts";
import { EpochGuard, EpochLostError } from "./epoch_guard.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { fail, type Held, revoked, settle, skippedFor } from "./held_epoch.ts";
import { abandonAttempt } from "./liveness.ts";
import { busy, type FileOutcome } from "./outcome.ts";
import { newTake, recordName } from "./records.ts";
import { type StoreFence, storeFence, unansweredIsAmbiguous } from "./store_fence.ts";
import { uploadWithRetry } from "./upload.ts";
import { verifyAndCommit } from "./verify_commit.ts";
import { isCommitFor, readView } from "./view.ts";
import { createRecord } from "./xattr_record.ts";

/** Takes epoch `n` and runs the attempt to its decision. */
export async function attemptEpoch(job: FileJob, file: OpenFile, n: number): Promise<FileOutcome> {
  const { rt } = job;
  const { handle, path, key } = file;
  const attempt = newAttemptId();
  const proc = rt.process.identity();
  const target = job.target.url;
  const take = newTake({ n, attempt, node: job.node, task: job.task.id, proc, key, target });
  if (!(await createRecord(handle, recordName("l", n), take)))
    return busy(path, `epoch ${n} was just taken by another attempt`);
  crashPoint(rt, "after-lock");
  try {
    return await held(job, file, { n, attempt });
  } catch (err) {
    // A call on the mount timed out and may still land: do nothing more on this epoch.
    if (err instanceof MountUnavailableError) abandonAttempt(attempt);
    throw err;
  }
}

async function held(
  job: FileJob,
  file: OpenFile,
  epoch: { n: number; attempt: string },
): Promise<FileOutcome> {
  const { rt } = job;
  const { handle, path, key } = file;
  const { n, attempt } = epoch;
  const target = job.target.url;
  // The view after the take: a name we created was a late re-creation of a garbage-collected
  // epoch if max is not n: abandon it, writing nothing more (mutant-no-take-view).
  const view = await readView(handle);
  if (view.max !== n) return busy(path, `epoch ${n} was garbage-collected; max is ${view.max}`);
  const locked = await handle.stat();
  const guard = new EpochGuard(rt, { handle, dirs: job.dirs, n, attempt, key, target });
  const taken: Held = { job, file, n, attempt, locked, guard };
  const current = view.current?.state;
  if (isCommitFor(current, { key, target, stat: locked }))
    return await settle(taken, "skipped", () => skippedFor(path, current, job.task.id));
  return await upload(taken);
}

async function upload(held: Held): Promise<FileOutcome> {
  const { job, file, n, attempt, locked, guard } = held;
  let fence: StoreFence = "versioned";
  let stored: StoredObject;
  try {
    fence = await storeFence(job.config, job.target);
    stored = await uploadWithRetry(job, { ...file, stat: locked, attempt, n, guard });
  } catch (err) {
    if (err instanceof EpochLostError) return revoked(held, err.message);
    if (err instanceof MountUnavailableError) throw err; // undecided; resolved once we are gone
    const ambiguous = unansweredIsAmbiguous(fence) && guard.unanswered > 0;
    const config = err instanceof TargetError && err.kind === "config";
    if (config && !ambiguous && guard.uploadIds.length === 0)
      return await settle(held, "aborted", () => ({
        kind: "config",
        path: file.path,
        error: (err as Error).message,
      }));
    return await fail(held, (err as Error).message, ambiguous);
  }
  // Rule 3 of the window fence: an unanswered write may land later, even if a retry succeeded.
  if (unansweredIsAmbiguous(fence) && guard.unanswered > 0)
    return await fail(held, `${guard.unanswered} store writes got no answer`, true);
  crashPoint(job.rt, "after-upload");
  return await verifyAndCommit(held, stored);
}
