/**
 * An epoch held by this node's own attempt whose process is dead (docs/protocol-v2.md section
 * 7), or by an unreadable take record past its grace (then the attempt is unknown). If the
 * object (or a version) carries the attempt and its recorded size, mtime, inode AND ctime equal
 * the descriptor's fstat, the upload finished: decide `committed` on its behalf (no upload).
 * Without the ctime, a writer that restored the mtime after the crash would be committed (model
 * fix `design-resolve-no-ctime`). Otherwise journal the epoch, decide `failed` (ambiguous on an
 * unversioned bucket with the window fence: what the dead process left in flight is unknown),
 * and clean it; the caller then takes the next epoch. A dead release or restore stored nothing:
 * it is decided `aborted` (docs/tiering.md).
 */
import { targetFor } from "../context/job_context.ts";
import { uploadIdsOf } from "../spool/uploads.ts";
import type { StoredObject, Target } from "../targets/target.ts";
import { cleanEpoch } from "./clean_epoch.ts";
import { decide } from "./decide.ts";
import { cleanExtraVersions } from "./extra_versions.ts";
import { type FileJob, journalFailure, type OpenFile } from "./file_job.ts";
import type { Settled } from "./held.ts";
import { newOutcome, newState, type Take, type Version, versionOf } from "./records.ts";
import { storeFence, unansweredIsAmbiguous } from "./store_fence.ts";
import { readView } from "./view.ts";

const resolver = (job: FileJob) => ({ node: job.node, role: "resolver" as const });

/** Resolves the dead attempt of epoch `n` (`take` null: unreadable, stale). */
export async function resolveDead(
  job: FileJob,
  file: OpenFile,
  held: { n: number; take: Take | null },
): Promise<Settled> {
  const { handle } = file;
  const { n, take } = held;
  if (take && take.action !== "migrate") {
    // Release and restore write nothing to the store: nothing to clean, nothing to journal.
    // The file is as the dead attempt left it, which the next release or restore checks.
    const error = `${take.action} interrupted: its process is gone`;
    const by = resolver(job);
    const outcome = newOutcome({ n, attempt: take.attempt, outcome: "aborted", by, error });
    return (await decide(handle, outcome)) ? { kind: "go" } : { kind: "again" };
  }
  const stat = await handle.stat();
  if (take) {
    const committed = await commitOnBehalf(job, file, { n, take, now: versionOf(stat) });
    if (committed) return committed;
  }
  const target = take?.target ?? job.target.url;
  const attempt = take?.attempt ?? "";
  const error = take ? "attempt interrupted: its process is gone" : "unreadable take record, stale";
  const entry = await journalFailure(job, {
    path: file.path,
    ino: stat.ino,
    epoch: n,
    attempt,
    key: take?.key ?? file.key,
    target,
    uploadIds: await uploadIdsOf(job.rt, job.dirs, attempt),
    error,
    task: take?.task,
  });
  const fence = await storeFence(job.config, targetFor(job, target));
  const ambiguous = unansweredIsAmbiguous(fence);
  const outcome = newOutcome({
    n,
    attempt,
    outcome: "failed",
    by: resolver(job),
    error,
    ambiguous,
  });
  if (!(await decide(handle, outcome))) return { kind: "again" };
  const view = await readView(handle);
  const cleaned = await cleanEpoch(job, job.dirs, {
    handle,
    entry,
    outcome,
    view,
    by: resolver(job),
  });
  if (cleaned.kind === "cleaned") return { kind: "go" };
  const until = new Date(cleaned.until).toISOString();
  return { kind: "done", outcome: waiting(file.path, n, until) };
}

function waiting(path: string, n: number, until: string) {
  const holder = `the cleanup of epoch ${n}, waiting for late writes until ${until}`;
  return { kind: "busy" as const, path, holder };
}

/**
 * The dead attempt's newest object, if it is complete and matches the file now (ctime included),
 * and whether the attempt left other versions (a write sent again after a lost answer).
 */
async function objectOf(target: Target, take: Take, now: Version, n: number) {
  let found: StoredObject | null = null;
  let versions = 0;
  for await (const object of target.versionsOf(take.key)) {
    const meta = object.meta;
    if (meta?.attempt !== take.attempt || meta.epoch !== n) continue;
    if (versions++ > 0) continue;
    const same =
      meta.size === now.size &&
      meta.mtimeNs === now.mtimeNs &&
      meta.ino === now.ino &&
      meta.ctimeNs === now.ctimeNs;
    if (!same || object.size !== now.size) return null;
    found = object;
  }
  return found ? { object: found, extras: versions > 1 } : null;
}

async function commitOnBehalf(
  job: FileJob,
  file: OpenFile,
  dead: { n: number; take: Take; now: Version },
): Promise<Settled | null> {
  const { n, take, now } = dead;
  // Only a commit for this run: this path's key on this target.
  if (take.key !== file.key || take.target !== job.target.url) return null;
  const found = await objectOf(job.target, take, now, n);
  if (!found) return null;
  const { object } = found;
  const state = newState({
    target: job.target.url,
    key: take.key,
    versionId: object.versionId,
    etag: object.etag,
    version: now,
    attempt: take.attempt,
    node: job.node,
    task: job.task.id,
  });
  const outcome = newOutcome({
    n,
    attempt: take.attempt,
    outcome: "committed",
    by: resolver(job),
    state,
  });
  if (!(await decide(file.handle, outcome))) return { kind: "again" };
  // As for a holder: it counts only if n is the current state's epoch.
  if ((await readView(file.handle)).current?.epoch !== n) return { kind: "again" };
  // The attempt's other versions (a write that landed twice) go (extra_versions.ts).
  if (found.extras && object.versionId !== null) {
    const { attempt } = take;
    const { versionId } = object;
    await cleanExtraVersions(job, { key: take.key, versionId, attempt, epoch: n, ino: now.ino });
  }
  const { etag, size: bytes } = object;
  const migrated = { kind: "migrated" as const, path: file.path, key: take.key, etag, bytes };
  return { kind: "done", outcome: { ...migrated, attempt: take.attempt, epoch: n, resumed: true } };
}
