/**
 * Step 2 of migrate (docs/protocol-v2.md section 4): what to do with a file that is held. An
 * epoch held by another live (or undecidable) attempt is busy; this node's own dead attempt is
 * resolved (resolve_dead.ts); an unreadable take record is busy until its grace has passed, then
 * cleared like a dead attempt's; a failed, revoked or interrupted epoch of this node's own
 * attempts is cleaned now (section 10: the file of a torn journal line is found again this way);
 * another node's is busy until that node's rollback cleans it. A v1 lock is busy.
 */

import { newJournalEntry } from "../spool/journal.ts";
import { uploadIdsOf } from "../spool/uploads.ts";
import { TargetError } from "../targets/target.ts";
import { cleanEpoch } from "./clean_epoch.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { describeTake, isOwnDeadTake, isStaleUnreadable } from "./liveness.ts";
import { busy, type FileOutcome } from "./outcome.ts";
import type { Outcome } from "./records.ts";
import { resolveDead } from "./resolve_dead.ts";
import { readTake, readView, type View } from "./view.ts";

export type Settled =
  /** Free now: take the next epoch. */
  | { kind: "go" }
  /** The file's outcome for this visit (busy, or migrated by a resolution). */
  | { kind: "done"; outcome: FileOutcome }
  /** Someone decided meanwhile: view again. */
  | { kind: "again" };

/**
 * Settles the hold of `view`. A target error while resolving or cleaning leaves the epoch held
 * (it still guards the key): the file is busy and retried later.
 */
export async function settleHold(job: FileJob, file: OpenFile, view: View): Promise<Settled> {
  try {
    return await settle(job, file, view);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    const holder = `epoch ${view.max}, unresolved (the target failed: ${err.message})`;
    return { kind: "done", outcome: busy(file.path, holder) };
  }
}

async function settle(job: FileJob, file: OpenFile, view: View): Promise<Settled> {
  const hold = view.hold;
  const done = (holder: string): Settled => ({ kind: "done", outcome: busy(file.path, holder) });
  switch (hold.kind) {
    case "free":
      return { kind: "go" };
    case "v1-lock":
      return done("a protocol v1 lock (user.tiermv.lock): v1 and v2 nodes must not run at once");
    case "undecided": {
      if (hold.take === null) {
        job.seen.unreadableLocks++;
        const grace = job.config.retry.unreadableLockGraceMs;
        if (isStaleUnreadable(await file.handle.stat(), grace))
          return await resolveDead(job, file, { n: hold.n, take: null });
        return done(
          `an unreadable take record l.${hold.n} (${hold.unreadable}), stale after ${grace} ms`,
        );
      }
      if (isOwnDeadTake(job.rt, job.node, hold.take))
        return await resolveDead(job, file, { n: hold.n, take: hold.take });
      return done(describeTake(job.rt, hold.take));
    }
    case "cleanup":
      return await cleanOwn(job, file, hold.n, hold.outcome);
  }
}

/** Cleans a failed/revoked/interrupted epoch of this node's own attempt; busy for others'. */
async function cleanOwn(
  job: FileJob,
  file: OpenFile,
  n: number,
  outcome: Outcome,
): Promise<Settled> {
  const { take } = await readTake(file.handle, n);
  const owner = take?.node ?? outcome.by.node;
  if (owner !== job.node)
    return {
      kind: "done",
      outcome: busy(
        file.path,
        `epoch ${n} (${outcome.outcome}) of node ${owner}, until its rollback cleans it`,
      ),
    };
  const stat = await file.handle.stat();
  const entry = newJournalEntry({
    path: file.path,
    ino: stat.ino,
    epoch: n,
    attempt: outcome.attempt,
    key: take?.key ?? file.key,
    target: take?.target ?? job.target.url,
    uploadIds: await uploadIdsOf(job.rt, job.dirs, outcome.attempt),
    node: job.node,
    task: take?.task ?? job.task.id,
    requestId: job.task.requestId,
    error: outcome.error ?? outcome.outcome,
    tries: job.task.retry + 1,
  });
  const by = { node: job.node, role: "rollback" as const };
  const fresh = await readView(file.handle);
  const cleaned = await cleanEpoch(job, job.dirs, {
    handle: file.handle,
    entry,
    outcome,
    view: fresh,
    by,
  });
  if (cleaned.kind === "cleaned") return { kind: "go" };
  const until = new Date(cleaned.until).toISOString();
  return {
    kind: "done",
    outcome: busy(file.path, `the cleanup of epoch ${n}, waiting for late writes until ${until}`),
  };
}
