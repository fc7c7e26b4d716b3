/**
 * One scheduler tick for one node: heartbeat (and a heartbeat timer while the tick runs), resume this node's own `running/` tasks (a crashed
 * run left them), roll back journalled failures, then claim and run due pending tasks until none
 * is left or the node is draining. Everything it needs is on disk, so any tick can be killed and
 * the next one resumes (at most retry.maxTaskResumes times: then the task goes to failed/). A
 * mount or target unavailable as a whole (a probe failed, isolate.ts) stops the tick: the task
 * goes back to pending, and `unavailable` says which and why (status and /readyz show it).
 */

import type { JobContext } from "./context/job_context.ts";
import { KafkaUnavailableError } from "./events/kafka_sink.ts";
import { unavailableOf } from "./file/failure_scope.ts";
import { addCounts, emptyCounts, type OutcomeCounts } from "./file/outcome.ts";
import { migrateTask, type TaskSummary } from "./migrate.ts";
import { type ReportSummary, reportNode } from "./report.ts";
import { type RollbackSummary, rollbackNode } from "./rollback.ts";
import { startHeartbeats, writeHeartbeat } from "./spool/heartbeat.ts";
import { ensureNodeDirs, type NodeDirs, nodeDirs } from "./spool/layout.ts";
import { claimTask, finishTask, listTasks } from "./spool/queues.ts";
import { countResume, forgetResumes } from "./spool/resumes.ts";
import { isDue } from "./spool/retry_task.ts";
import { clearUnavailable, recordUnavailable } from "./spool/unavailable.ts";
import { crashPoint } from "./util/crash_points.ts";

export interface TickSummary {
  node: string;
  tasks: TaskSummary[];
  counts: OutcomeCounts;
  rollback: RollbackSummary[];
  draining: boolean;
  /** Set when the cycle was cut short (mount or target unavailable): the error's message. */
  skipped?: string;
  /** What was unavailable, when the cycle was cut short by it. */
  unavailable?: { what: "mount" | "target"; error: string };
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
      if (result.unavailable) await stopTick(name, result.unavailable);
      await forgetResumes(ctx.rt, dirs, name);
    } catch (err) {
      // Before the task's entries ran (its header on a hung mount): back to pending here.
      const what = unavailableOf(err);
      if (!what) throw err;
      await finishTask(ctx.rt, dirs, name, "pending");
      await stopTick(name, { what, error: (err as Error).message });
      // Kept when the task crashed the run (a program error): the next resume counts on it.
      await forgetResumes(ctx.rt, dirs, name);
    }
  };
  const stopTick = async (name: string, found: { what: "mount" | "target"; error: string }) => {
    summary.skipped = found.error;
    summary.unavailable = found;
    await noteUnavailable(ctx, dirs, found);
    ctx.log.error(`${found.error}: task ${name} returned to pending, cycle skipped`);
  };

  for (const name of await listTasks(ctx.rt, dirs.running)) {
    if (summary.skipped || ctx.signal?.aborted) return summary;
    if (!(await countResume(ctx.rt, dirs, name, ctx.config.retry.maxTaskResumes))) {
      ctx.log.error(`Task ${name} moved to failed/: resumed too often without finishing`);
      const counts = emptyCounts();
      summary.tasks.push({ task: name, result: "exhausted", counts, why: "resumed too often" });
      continue;
    }
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
  if (!summary.unavailable) await clearUnavailable(ctx.rt, dirs);
  if (ctx.config.kafka) summary.report = await reportSafely(ctx, node);
  return summary;
}

/** Best effort: with the mount down, the spool (on the mount) may not take it either. */
async function noteUnavailable(
  ctx: JobContext,
  dirs: NodeDirs,
  found: { what: "mount" | "target"; error: string },
): Promise<void> {
  try {
    await recordUnavailable(ctx.rt, dirs, found);
  } catch (err) {
    ctx.log.warn(`Could not record the unavailability for status: ${(err as Error).message}`);
  }
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
