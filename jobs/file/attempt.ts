/**
 * One attempt at epoch n (docs/protocol-v2.md section 4, steps 3 to 6), on the attempt's one
 * descriptor: take `l.<n>` (XATTR_CREATE), view again (max must still be n), fstat (the version
 * the commit records and ctime's baseline), upload under the epoch's write guard, verify (fstat:
 * size, mtime, inode and ctime unchanged; `lstat(path)` still our inode), decide `e.<n>`, GC.
 * A failure journals the epoch, then decides it `failed`: it stays held until rollback cleans it.
 */
import { MountUnavailableError } from "../../runtime/errors.ts";
import type { FileStat } from "../../runtime/types.ts";
import { forgetUploads } from "../spool/uploads.ts";
import { type StoredObject, TargetError } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { newAttemptId } from "../util/ids.ts";
import { decideAsHolder } from "./decide.ts";
import { EpochGuard, EpochLostError } from "./epoch_guard.ts";
import { type FileJob, journalFailure, type OpenFile } from "./file_job.ts";
import { abandonAttempt } from "./liveness.ts";
import { busy, type FileOutcome } from "./outcome.ts";
import {
  type EpochOutcome,
  newOutcome,
  newState,
  newTake,
  recordName,
  type State,
  versionOf,
} from "./records.ts";
import { type StoreFence, storeFence, unansweredIsAmbiguous } from "./store_fence.ts";
import { uploadWithRetry } from "./upload.ts";
import { isCommitFor, readView } from "./view.ts";
import { createRecord } from "./xattr_record.ts";

/** The attempt once it holds epoch n. */
interface Held {
  job: FileJob;
  file: OpenFile;
  n: number;
  attempt: string;
  /** The fstat after the take: what the commit records. */
  locked: FileStat;
  guard: EpochGuard;
}

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

async function verifyAndCommit(held: Held, stored: StoredObject): Promise<FileOutcome> {
  const { job, file, n, attempt, locked } = held;
  const after = await file.handle.stat();
  const changed =
    after.size !== locked.size ||
    after.mtimeNs !== locked.mtimeNs ||
    after.ino !== locked.ino ||
    after.ctimeNs !== locked.ctimeNs;
  // Path-based on purpose: the only way to ask whether our inode is still at this path.
  const here = await inodeAt(job, file.path);
  if (changed || here !== locked.ino) {
    // A rename also moves ctime: the path's inode is asked first.
    const outcome: EpochOutcome =
      here === null ? "vanished" : here !== locked.ino ? "moved" : "modified";
    return await discard(held, stored, outcome);
  }
  const state = newState({
    target: job.target.url,
    key: file.key,
    versionId: stored.versionId,
    etag: stored.etag,
    version: versionOf(locked),
    attempt,
    node: job.node,
    task: job.task.id,
  });
  const outcome = newOutcome({ n, attempt, outcome: "committed", by: holder(job), state });
  const decided = await decideAsHolder(file.handle, outcome);
  if (!decided.decided)
    return revoked(held, "recover decided this epoch first: the commit is void");
  crashPoint(job.rt, "after-commit");
  if (held.guard.uploadIds.length > 0) await forgetUploads(job.rt, job.dirs, attempt);
  // Report-late-commit (model fix): a re-created e.<n> below the current state never counts.
  if (!decided.counts)
    return revoked(held, "the epoch was revoked and garbage-collected: this commit never counts");
  const { etag } = stored;
  return {
    kind: "migrated",
    path: file.path,
    key: file.key,
    etag,
    bytes: locked.size,
    attempt,
    epoch: n,
  };
}

/** Changed, moved or gone during the upload: our own version goes (versioned), nothing commits. */
async function discard(held: Held, stored: StoredObject, outcome: EpochOutcome) {
  const { job, file, guard } = held;
  if (stored.versionId !== null) {
    try {
      await job.target.delete(file.key, stored.versionId, { guard });
    } catch (err) {
      if (err instanceof EpochLostError) return revoked(held, err.message);
      const error = `changed during upload; deleting our version failed: ${(err as Error).message}`;
      return await fail(held, error, false);
    }
  }
  // Unversioned: nothing is deleted by key (a late DELETE would remove the next commit); the
  // object stays a stray until the key's next commit overwrites it.
  return await settle(held, outcome, (): FileOutcome => {
    if (outcome === "vanished") return { kind: "vanished", path: file.path };
    return { kind: outcome === "moved" ? "moved" : "modified", path: file.path, key: file.key };
  });
}

/** Journal, then decide `failed`: the epoch stays held until the rollback job cleans it. */
async function fail(held: Held, error: string, ambiguous: boolean): Promise<FileOutcome> {
  const { job, file, n, attempt, locked, guard } = held;
  await journalFailure(job, {
    path: file.path,
    ino: locked.ino,
    epoch: n,
    attempt,
    key: file.key,
    target: job.target.url,
    uploadIds: guard.uploadIds,
    error,
  });
  crashPoint(job.rt, "after-journal");
  return await settle(
    held,
    "failed",
    () => ({
      kind: "failed",
      path: file.path,
      key: file.key,
      attempt,
      error,
      ...(ambiguous ? { ambiguous } : {}),
    }),
    { error, ambiguous },
  );
}

/** Decides an outcome without a state; EEXIST means revoked. */
async function settle(
  held: Held,
  outcome: EpochOutcome,
  result: () => FileOutcome,
  extra: { error?: string; ambiguous?: boolean } = {},
): Promise<FileOutcome> {
  const { job, file, n, attempt } = held;
  const record = newOutcome({ n, attempt, outcome, by: holder(job), ...extra });
  const decided = await decideAsHolder(file.handle, record);
  if (!decided.decided) return revoked(held, "recover decided this epoch first");
  // A single PUT records nothing: no call on the spool in the common case.
  if (outcome !== "failed" && held.guard.uploadIds.length > 0)
    await forgetUploads(job.rt, job.dirs, attempt);
  return result();
}

/** A file already committed for this run: `ownTask` when this very task committed it. */
export function skippedFor(path: string, state: State, taskId: string): FileOutcome {
  const { key, etag, size: bytes, attempt } = state;
  return { kind: "skipped", path, key, etag, bytes, attempt, ownTask: state.task === taskId };
}

function revoked(held: Held, error: string): FileOutcome {
  const { file, attempt } = held;
  return { kind: "revoked", path: file.path, key: file.key, attempt, error };
}

const holder = (job: FileJob) => ({ node: job.node, role: "holder" as const });

/** The inode at `path` now (lstat), null when nothing is there. */
async function inodeAt(job: FileJob, path: string): Promise<string | null> {
  try {
    return (await job.rt.fs.lstat(path)).ino;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}
