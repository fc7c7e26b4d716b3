/**
 * recover: for an operator whose node is lost, or seems lost (docs/protocol-v2.md section 7).
 * Revokes every epoch the node holds on the files of its running tasks (decides `e.<n> =
 * revoked`, never removes anything first), rolls its journal back (the normal cleanup path), and
 * returns its running tasks to pending. Safe even when the node is alive but paused: its late
 * decision fails with EEXIST and it reports `revoked`; its late store writes are fenced (a
 * version, an aborted upload id, or the late-write window). Refuses without `--force` while the
 * node's heartbeat is younger than 6 heartbeats (`schedule.heartbeatMs`): a liveness aid, not
 * the safety argument. Idempotent: a crash midway and a rerun finish the job.
 */
import { isNotFound } from "../runtime/errors.ts";
import { liveWithinMs } from "./context/config.ts";
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { revokeHeld } from "./file/revoke.ts";
import { type RollbackSummary, rollbackNode, unwritableReason } from "./rollback.ts";
import { heartbeatAgeMs } from "./spool/heartbeat.ts";
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
  /** Epochs revoked (decided `revoked` on the node's behalf). */
  revoked: number;
  tasksReturned: number;
  rollback: RollbackSummary;
}

export async function recoverNode(
  ctx: JobContext,
  node: string,
  options: { force: boolean },
): Promise<RecoverSummary> {
  const dirs = nodeDirs(ctx.config.spool, node);
  const age = await heartbeatAgeMs(ctx.rt, dirs);
  const live = liveWithinMs(ctx.config);
  if (age !== null && age < live && !options.force) {
    throw new UsageError(
      `Node "${node}" wrote a heartbeat ${Math.round(age / 1000)} s ago (it writes one every ${ctx.config.schedule.heartbeatMs / 1000} s): it may be alive. Stop it first, or pass --force: revoking a live node is safe, but it loses the work it has in flight.`,
    );
  }
  let revoked = 0;
  const running = await listTasks(ctx.rt, dirs.running);
  for (const name of running) {
    const taskPath = `${dirs.running}/${name}`;
    const header = await readTaskHeader(ctx.rt, taskPath);
    const target = targetFor(ctx, header.target);
    const tries = (header.options.retry ?? 0) + 1;
    for await (const entry of readTaskEntries(ctx.rt, taskPath)) {
      if ("error" in entry) continue;
      const rel = relativeToRoot(ctx.config.root, entry.path);
      if (rel === null) continue;
      const key = target.keyFor(rel);
      const file = {
        path: entry.path,
        key,
        target: header.target,
        requestId: header.requestId,
        tries,
      };
      try {
        if ((await revokeHeld(ctx, node, file)) === "revoked") revoked++;
      } catch (err) {
        // The epoch stays held (nothing unsafe meanwhile); the operator makes the file writable.
        const why = unwritableReason(err, `the revoke of "${entry.path}"`, "recover");
        if (why === null) throw err;
        throw new RecoverBlockedError(`Recover of "${node}" paused: ${why}`);
      }
    }
  }
  const rollback = await rollbackNode(ctx, dirs);
  if (rollback.blocked)
    throw new RecoverBlockedError(`Recover of "${node}" paused: ${rollback.blocked}`);
  let tasksReturned = 0;
  for (const name of running) {
    try {
      await finishTask(ctx.rt, dirs, name, "pending");
      tasksReturned++;
    } catch (err) {
      // Finished by the node itself meanwhile (it was alive): nothing to return.
      if (!isNotFound(err)) throw err;
    }
  }
  return { node, heartbeatAgeMs: age, revoked, tasksReturned, rollback };
}
