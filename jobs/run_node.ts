/**
 * One scheduler tick for one node: heartbeat (and a heartbeat timer while the tick runs), resume this node's own `running/` tasks (a crashed
 * run left them), roll back journalled failures, then claim and run due pending tasks until none
 * is left or the node is draining. Everything it needs is on disk, so any tick can be killed and
 * the next one resumes. A hung mount skips the cycle: the task goes back to pending.
 */

import type { JobContext } from "./context/job_context.ts";
import { KafkaUnavailableError } from "./events/kafka_sink.ts";
import { addCounts, emptyCounts, type OutcomeCounts } from "./file/outcome.ts";
import { migrateTask, type TaskSummary } from "./migrate.ts";
import { type ReportSummary, reportNode } from "./report.ts";
import { type RollbackSummary, rollbackNode } from "./rollback.ts";
import { startHeartbeats, writeHeartbeat } from "./spool/heartbeat.ts";
import { ensureNodeDirs, type NodeDirs, nodeDirs } from "./spool/layout.ts";
import { claimTask, finishTask, listTasks } from "./spool/queues.ts";
import { isDue } from "./spool/retry_task.ts";
import { crashPoint } from "./util/crash_points.ts";
import { MountUnavailableError } from "./util/errors.ts";

export interface TickSummary {
  node: string;
  tasks: TaskSummary[];
  counts: OutcomeCounts;
  rollback: RollbackSummary[];
  draining: boolean;
  /** Set when the cycle was cut short (mount unavailable). */
  skipped?: string;
  report?: ReportSummary;
}

export async function runNodeOnce(ctx: JobContext, node: string): Promise<TickSummary> {
  const tickStart = Date.now();
  const dirs = nodeDirs(ctx.config.spool, node);
  await ensureNodeDirs(ctx.rt, dirs);
  await writeHeartbeat(ctx.rt, dirs, node);
  // Also while a long task runs: recover judges liveness by it (6 heartbeats).
  const beats = startHeartbeats(ctx.rt, [{ dirs, node }], {
    everyMs: ctx.config.schedule.heartbeatMs,
    log: ctx.log,
  });
  try {
    return await tick(ctx, node, dirs, tickStart);
  } finally {
    beats.stop();
  }
}

async function tick(
  ctx: JobContext,
  node: string,
  dirs: NodeDirs,
  tickStart: number,
): Promise<TickSummary> {
  const summary: TickSummary = {
    node,
    tasks: [],
    counts: emptyCounts(),
    rollback: [],
    draining: false,
  };

  const run = async (name: string) => {
    try {
      const result = await migrateTask(ctx, node, dirs, name);
      summary.tasks.push(result);
      addCounts(summary.counts, result.counts);
    } catch (err) {
      if (!(err instanceof MountUnavailableError)) throw err;
      await finishTask(ctx.rt, dirs, name, "pending");
      summary.skipped = err.message;
      ctx.log.error(`${err.message}: task ${name} returned to pending, cycle skipped`);
    }
  };

  for (const name of await listTasks(ctx.rt, dirs.running)) {
    if (summary.skipped || ctx.signal?.aborted) return summary;
    ctx.log.info(`Resuming task ${name}`);
    await run(name);
  }
  summary.rollback.push(await rollbackNode(ctx, dirs));

  for (;;) {
    summary.draining = await ctx.rt.fs.exists(dirs.drain);
    if (summary.draining || summary.skipped || ctx.signal?.aborted) break;
    let claimed = false;
    for (const name of await listTasks(ctx.rt, dirs.pending)) {
      if (!(await isDue(ctx, dirs, name, tickStart))) continue;
      if (!(await claimTask(ctx.rt, dirs, name))) continue;
      claimed = true;
      crashPoint(ctx.rt, "after-claim");
      await run(name);
      await writeHeartbeat(ctx.rt, dirs, node);
      break;
    }
    if (!claimed) break;
  }
  summary.rollback.push(await rollbackNode(ctx, dirs));
  if (ctx.config.kafka) summary.report = await reportSafely(ctx, node);
  return summary;
}

/** Kafka trouble never stops migration: the error is recorded for `status` and events wait. */
async function reportSafely(ctx: JobContext, node: string): Promise<ReportSummary> {
  try {
    return await reportNode(ctx, node);
  } catch (err) {
    if (!(err instanceof KafkaUnavailableError)) throw err;
    ctx.log.warn(`Report of node ${node} failed, events wait in the outbox: ${err.message}`);
    return { node, shipped: 0, segments: 0, quarantined: 0, lag: -1, error: err.message };
  }
}
