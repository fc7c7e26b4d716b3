/**
 * Steps 5 and 6 of an attempt (docs/protocol-v2.md section 4): verify on the descriptor (size,
 * mtime, inode and ctime equal to the fstat after the take; no xattr write of ours happens in
 * between) and on the path (`lstat(path).ino` still our inode, else `moved`), then decide
 * `committed` with the state of the fstat after the take. A changed, moved or vanished file is
 * not committed; on a versioned bucket our own version is deleted, on an unversioned one nothing
 * is deleted by key (a late DELETE would remove the key's next commit: model fix).
 */

import { forgetUploads } from "../spool/uploads.ts";
import type { StoredObject } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { decideAsHolder } from "./decide.ts";
import { EpochLostError } from "./epoch_guard.ts";
import { cleanExtraVersions } from "./extra_versions.ts";
import { fail, type Held, holder, revoked, settle } from "./held_epoch.ts";
import type { FileOutcome } from "./outcome.ts";
import { newOutcome, newState, versionOf } from "./records.ts";

/**
 * How the file changed since the attempt's fstat (size, mtime, inode, ctime; and whether our
 * inode is still at its path), or null when it did not.
 */
export async function changeSinceLocked(
  held: Held,
): Promise<"vanished" | "moved" | "modified" | null> {
  const { file, locked } = held;
  // fstat, then lstat of the path (the only way to ask whether our inode is still at this
  // path), in one hand-off.
  const { stat: after, atPath } = await file.handle.statWithPath();
  const changed =
    after.size !== locked.size ||
    after.mtimeNs !== locked.mtimeNs ||
    after.ino !== locked.ino ||
    after.ctimeNs !== locked.ctimeNs;
  const here = atPath?.ino ?? null;
  if (!changed && here === locked.ino) return null;
  // A rename also moves ctime: the path's inode is asked first.
  return here === null ? "vanished" : here !== locked.ino ? "moved" : "modified";
}

/** The outcome of a file that changed during its attempt. */
export function changedOutcome(held: Held, change: "vanished" | "moved" | "modified"): FileOutcome {
  const { path, key } = held.file;
  if (change === "vanished") return { kind: "vanished", path };
  return { kind: change, path, key };
}

export async function verifyAndCommit(held: Held, stored: StoredObject): Promise<FileOutcome> {
  const { job, file, n, attempt, locked } = held;
  const change = await changeSinceLocked(held);
  if (change) return await discard(held, stored, change);
  const state = newState({
    target: job.target.url,
    key: file.key,
    versionId: stored.versionId,
    etag: stored.etag,
    version: versionOf(locked),
    attempt,
    node: job.node,
    task: job.task.id,
    storageClass: job.target.url.startsWith("s3://") ? job.config.s3.storageClass : undefined,
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
  // A PUT sent again after a lost answer (our retry, or the HTTP client's silent resend) landed
  // twice: the attempt's other versions go (extra_versions.ts).
  if (stored.versionId !== null) {
    const { key } = file;
    const { versionId } = stored;
    await cleanExtraVersions(job, { key, versionId, attempt, epoch: n, ino: locked.ino });
  }
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
async function discard(
  held: Held,
  stored: StoredObject,
  outcome: "vanished" | "moved" | "modified",
) {
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
  return await settle(held, outcome, () => changedOutcome(held, outcome));
}
