/**
 * The migrate job: runs one claimed task (in `running/`) to the end. Streams the task's entries
 * with at most `migrate.concurrency` files in flight, records every outcome as an event, puts
 * busy files into a retry task, then moves the task to `done/` (or `failed/` when any file
 * failed). Idempotent: killed at any line, the task stays in `running/` and a rerun resumes it;
 * files already committed are skipped by their state. Throws MountUnavailableError (the caller
 * returns the task to pending) and program errors; per-file problems are outcomes.
 */
import { isNotFound } from "../runtime/errors.ts";
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { eventOf, taskEvent } from "./events/event.ts";
import { OutboxWriter } from "./events/outbox.ts";
import { type FileJob, migrateFile } from "./file/migrate_file.ts";
import { emptyCounts, type FileOutcome, type OutcomeCounts } from "./file/outcome.ts";
import type { NodeDirs } from "./spool/layout.ts";
import { DurationHistogram, recordTask } from "./spool/node_metrics.ts";
import { finishTask, quarantineTask } from "./spool/queues.ts";
import { publishRetryTask } from "./spool/retry_task.ts";
import { readTaskEntries, readTaskHeader, type TaskHeader } from "./spool/task_file.ts";
import { crashPoint } from "./util/crash_points.ts";
import { TaskFormatError } from "./util/errors.ts";
import { underResolvedRoot } from "./util/paths.ts";
import { forEachLimit } from "./util/pool.ts";

export interface TaskSummary {
  task: string;
  result: "done" | "failed" | "bad";
  counts: OutcomeCounts;
  why?: string;
}

export async function migrateTask(
  ctx: JobContext,
  node: string,
  dirs: NodeDirs,
  name: string,
): Promise<TaskSummary> {
  const taskPath = `${dirs.running}/${name}`;
  const counts = emptyCounts();
  let header: TaskHeader;
  try {
    header = await readTaskHeader(ctx.rt, taskPath);
  } catch (err) {
    if (!(err instanceof TaskFormatError)) throw err;
    await quarantineTask(ctx.rt, dirs, dirs.running, name, err.message);
    ctx.log.error(`${err.message}: moved to bad/`);
    return { task: name, result: "bad", counts, why: err.message };
  }
  const job: FileJob = {
    ...ctx,
    node,
    dirs,
    task: { id: header.id, requestId: header.requestId, retry: header.options.retry ?? 0 },
    target: targetFor(ctx, header.target),
    inFlight: new Set(),
    seen: { unreadableLocks: 0 },
  };
  // Busy files are retried until they have been busy for retry.busyMaxAgeMs, then `stuck`.
  const busySince = header.options.busySince ?? Date.now();
  const outbox = await OutboxWriter.forTask(ctx.rt, dirs, header.id);
  const busy: string[] = [];
  const durations = new DurationHistogram();
  let configError: string | null = null;

  const record = async (found: FileOutcome, line: number, started: number) => {
    const outcome = stuckIfTooLong(ctx, found, busySince);
    counts[outcome.kind]++;
    if (outcome.kind === "migrated") counts.bytes += outcome.bytes;
    durations.observe(Date.now() - started);
    ctx.onOutcome?.(outcome);
    if (outcome.kind === "busy") busy.push(outcome.path);
    if (outcome.kind === "config") configError ??= outcome.error;
    if (outcome.kind !== "migrated" && outcome.kind !== "skipped")
      ctx.log.warn(
        `${outcome.kind}: ${outcome.path}${"error" in outcome ? `: ${outcome.error}` : ""}`,
      );
    await outbox.add(
      eventOf(outcome, {
        requestId: header.requestId,
        taskId: header.id,
        node,
        line,
        ms: Date.now() - started,
      }),
    );
  };

  try {
    await forEachLimit(
      readTaskEntries(ctx.rt, taskPath),
      ctx.config.migrate.concurrency,
      async (entry) => {
        const started = Date.now();
        if ("error" in entry) {
          const error = `task ${header.id} line ${entry.line}: ${entry.error}`;
          return record({ kind: "rejected", path: "", error }, entry.line, started);
        }
        // After a configuration error the task stops touching files; the rest are reported.
        if (configError)
          return record(
            { kind: "config", path: entry.path, error: configError },
            entry.line,
            started,
          );
        // Tasks written before the root was resolved name it as configured (a symlink).
        const path = underResolvedRoot(ctx.config, entry.path);
        return record(await migrateFile(job, path), entry.line, started);
      },
    );
  } catch (err) {
    if (!(err instanceof TaskFormatError)) throw err;
    // Entries before the broken line ran normally; the task itself is not a valid task.
    await outbox.flush();
    await quarantineTask(ctx.rt, dirs, dirs.running, name, err.message);
    ctx.log.error(`${err.message}: moved to bad/`);
    return { task: name, result: "bad", counts, why: err.message };
  }

  counts.unreadableLocks += job.seen.unreadableLocks;
  if (busy.length > 0) {
    const retry = header.options.retry ?? 0;
    await publishRetryTask(job, dirs, {
      requestId: header.requestId,
      target: header.target,
      paths: busy,
      retry,
      reason: "busy",
      busySince,
    });
  }
  const failed =
    counts.failed + counts.config + counts.rejected + counts.revoked + counts.stuck > 0;
  const source = { requestId: header.requestId, taskId: header.id, node };
  await outbox.add(taskEvent(source, failed ? "failed" : "done", counts));
  await outbox.flush();
  await recordTask(ctx.rt, dirs, failed ? "failed" : "done", counts, durations);
  crashPoint(ctx.rt, "before-finish");
  const why =
    configError ??
    (failed
      ? `${counts.failed} failed, ${counts.rejected} rejected, ${counts.revoked} revoked, ${counts.stuck} stuck`
      : undefined);
  const whyFile = `${dirs.failed}/${name}.why`;
  if (why && failed) await ctx.rt.fs.writeDurable(whyFile, `${why}\n`);
  try {
    await finishTask(ctx.rt, dirs, name, failed ? "failed" : "done");
  } catch (err) {
    // recover returned the task to pending while this node was paused: it runs again there.
    if (!isNotFound(err)) throw err;
    await ctx.rt.fs.remove(whyFile);
    ctx.log.warn(`Task ${name} left running/ meanwhile (recover): not finished here`);
    return { task: name, result: "failed", counts, why: "returned to pending by recover" };
  }
  return { task: name, result: failed ? "failed" : "done", counts, why };
}

/** A busy file whose retries have lasted `retry.busyMaxAgeMs` is reported `stuck`, not retried. */
function stuckIfTooLong(ctx: JobContext, outcome: FileOutcome, busySince: number): FileOutcome {
  if (outcome.kind !== "busy" || Date.now() - busySince < ctx.config.retry.busyMaxAgeMs)
    return outcome;
  const since = new Date(busySince).toISOString();
  return { kind: "stuck", path: outcome.path, holder: outcome.holder, busySince: since };
}
