/**
 * recover: for an operator whose node is gone for good (powered off). Journals every lock that
 * node holds on the files of its running tasks, rolls its journal back (the normal rollback
 * path: delete the dead attempts' own objects unless committed, release their locks), and
 * returns its running tasks to pending. Refuses while the node's heartbeat is fresh, unless
 * forced: there is no fencing token, so recovering a live node is unsafe (docs/design.md).
 * Idempotent: a crash midway and a rerun finish the job.
 */

import { isNotFound } from "../runtime/errors.ts";
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { readLock } from "./file/lock.ts";
import { XattrPayloadError } from "./file/xattr_record.ts";
import { type RollbackSummary, rollbackNode } from "./rollback.ts";
import { heartbeatAgeMs } from "./spool/heartbeat.ts";
import { appendJournal, newJournalEntry } from "./spool/journal.ts";
import { nodeDirs } from "./spool/layout.ts";
import { finishTask, listTasks } from "./spool/queues.ts";
import { readTaskEntries, readTaskHeader } from "./spool/task_file.ts";
import { TiermvError, UsageError } from "./util/errors.ts";
import { relativeToRoot } from "./util/paths.ts";

/** The lost node's rollback could not finish (its target is unreachable): run recover again. */
export class RecoverBlockedError extends TiermvError {
  constructor(message: string) {
    super("RECOVER_BLOCKED", message);
  }
}

export interface RecoverSummary {
  node: string;
  heartbeatAgeMs: number | null;
  locksJournalled: number;
  tasksReturned: number;
  rollback: RollbackSummary;
}

async function readLockOrNull(ctx: JobContext, path: string) {
  try {
    return await readLock(ctx.rt, path);
  } catch (err) {
    if (err instanceof XattrPayloadError || isNotFound(err)) return null;
    throw err;
  }
}

export async function recoverNode(
  ctx: JobContext,
  node: string,
  options: { force: boolean; staleAfterMs: number },
): Promise<RecoverSummary> {
  const dirs = nodeDirs(ctx.config.spool, node);
  const age = await heartbeatAgeMs(ctx.rt, dirs);
  if (age !== null && age < options.staleAfterMs && !options.force) {
    throw new UsageError(
      `Node "${node}" wrote a heartbeat ${Math.round(age / 1000)} s ago: it may be alive. Recovering a live node can lose data; stop it first, or pass --force if it is really down.`,
    );
  }
  let locksJournalled = 0;
  const running = await listTasks(ctx.rt, dirs.running);
  for (const name of running) {
    const taskPath = `${dirs.running}/${name}`;
    const header = await readTaskHeader(ctx.rt, taskPath);
    const target = targetFor(ctx, header.target);
    for await (const entry of readTaskEntries(ctx.rt, taskPath)) {
      if ("error" in entry) continue;
      const lock = await readLockOrNull(ctx, entry.path);
      const rel = relativeToRoot(ctx.config.root, entry.path);
      if (!lock || lock.node !== node || rel === null) continue;
      const journalled = newJournalEntry({
        path: entry.path,
        attempt: lock.attempt,
        key: target.keyFor(rel),
        target: header.target,
        node,
        task: lock.task,
        requestId: header.requestId,
        error: "recovered: node lost",
        tries: (header.options.retry ?? 0) + 1,
      });
      await appendJournal(ctx.rt, dirs, journalled);
      locksJournalled++;
    }
  }
  const rollback = await rollbackNode(ctx, dirs);
  if (rollback.blocked)
    throw new RecoverBlockedError(`Recover of "${node}" paused: ${rollback.blocked}`);
  for (const name of running) await finishTask(ctx.rt, dirs, name, "pending");
  return { node, heartbeatAgeMs: age, locksJournalled, tasksReturned: running.length, rollback };
}
