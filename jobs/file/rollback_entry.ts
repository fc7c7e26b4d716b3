/**
 * Rolls back one failed attempt. The object at the key is deleted only if it carries the failed
 * attempt's id AND the file's committed state does not name that key (I2); then the attempt's
 * lock is removed. Idempotent: every step checks before it acts, so a replay after a crash is safe.
 * Because the failed attempt still holds the lock until the last step, nobody else can be
 * uploading this key meanwhile: the incident of docs/design.md section 2 cannot recur.
 */
import { isNotFound } from "../../runtime/errors.ts";
import { type JobContext, targetFor } from "../context/job_context.ts";
import type { JournalEntry } from "../spool/journal.ts";
import { crashPoint } from "../util/crash_points.ts";
import { releaseLock } from "./lock.ts";
import { readState, type State, stateMatches } from "./state.ts";
import { XattrPayloadError } from "./xattr_record.ts";

export interface RollbackResult {
  deletedObject: boolean;
  releasedLock: boolean;
  /** The file still exists and is not committed: it should be migrated again. */
  needsRetry: boolean;
}

/** The committed state, "unreadable" if garbage is there (then never delete), null if none. */
async function stateOf(ctx: JobContext, path: string): Promise<State | null | "unreadable"> {
  try {
    return await readState(ctx.rt, path);
  } catch (err) {
    if (err instanceof XattrPayloadError) return "unreadable";
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function rollbackEntry(ctx: JobContext, entry: JournalEntry): Promise<RollbackResult> {
  const target = targetFor(ctx, entry.target);
  const object = await target.head(entry.key);
  const state = await stateOf(ctx, entry.path);
  const namedByState =
    state === "unreadable" ||
    (state !== null && state.key === entry.key && state.target === entry.target);
  let deletedObject = false;
  if (object?.meta?.attempt === entry.attempt && !namedByState) {
    // By its version on a versioned bucket: exactly the object the HEAD showed.
    await target.delete(entry.key, object.versionId);
    deletedObject = true;
  }
  // No abort of incomplete multipart uploads: v1's journal does not know this attempt's upload
  // id, and aborting every upload of the key could abort another attempt's (issue 15.4). A
  // node killed mid-multipart leaves its upload behind (no object, parts billed) until
  // protocol v2 records the id (WriteGuard.onUploadId) and rollback aborts exactly that one.
  crashPoint(ctx.rt, "mid-rollback");
  let releasedLock = false;
  let needsRetry = false;
  try {
    releasedLock = await releaseLock(ctx.rt, entry.path, entry.attempt);
    const stat = await ctx.rt.fs.lstat(entry.path);
    needsRetry = stat.kind === "file" && !(state !== "unreadable" && stateMatches(state, stat));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return { deletedObject, releasedLock, needsRetry };
}
