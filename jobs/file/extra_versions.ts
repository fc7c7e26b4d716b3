/**
 * Extra versions of a committed attempt (docs/protocol-v2.md section 6, "extra versions"): on a
 * versioned bucket a write whose answer was lost and that was sent again (migrate's retry loop,
 * or the HTTP client's own silent resend of a PUT on a reset keep-alive connection) lands twice,
 * as two versions carrying the same attempt; the commit names one. After a commit that counts,
 * every other version of the key carrying the attempt, its epoch and its inode is deleted. Safe:
 * attempt ids are never reused, so only epoch n's state can name a version of the attempt, and
 * that state names the one kept (`e.<s>` is never garbage-collected). A crash before the deletion
 * leaves them until the resumed task visits the file again (its skip of a file its own task
 * committed runs the same deletion).
 */
import type { Target } from "../targets/target.ts";
import type { FileJob } from "./file_job.ts";

/** The committed version of one attempt: every other version of the attempt goes. */
export interface CommittedVersion {
  key: string;
  versionId: string;
  attempt: string;
  epoch: number;
  ino: string;
}

/** Deletes the attempt's versions of its key other than the committed one; returns how many. */
export async function deleteExtraVersions(
  target: Target,
  committed: CommittedVersion,
): Promise<number> {
  // The whole listing first: deleting while paging makes RGW skip versions (clean_epoch.ts).
  const doomed: string[] = [];
  const { key, versionId, attempt, epoch, ino } = committed;
  for await (const object of target.versionsOf(key, { except: versionId })) {
    const meta = object.meta;
    if (!meta || meta.attempt !== attempt || meta.epoch !== epoch || meta.ino !== ino) continue;
    if (object.versionId !== null && object.versionId !== versionId) doomed.push(object.versionId);
  }
  for (const id of doomed) await target.delete(key, id);
  return doomed.length;
}

/**
 * The same, after a commit that counts (or on a later visit of the task that committed): a store
 * error is logged, not thrown (the commit stands; the task's next visit tries again).
 */
export async function cleanExtraVersions(
  job: FileJob,
  committed: CommittedVersion,
): Promise<number> {
  try {
    return await deleteExtraVersions(job.target, committed);
  } catch (err) {
    const what = `extra versions of attempt ${committed.attempt} on "${committed.key}"`;
    job.log.warn(`Could not delete the ${what}: ${(err as Error).message}`);
    return 0;
  }
}
