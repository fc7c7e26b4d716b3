/**
 * The migrate job: runs one claimed task (in `running/`) to the end. Streams the task's entries
 * with at most `migrate.concurrency` files in flight, records every outcome as an event, puts
 * busy files into a retry task, then moves the task to `done/` (or `failed/` with a `.why`
 * when a file needs an operator). Idempotent: killed at any line, the task stays in `running/`
 * and a rerun resumes it; files already committed are skipped by their state. A stop (ctx.signal)
 * starts no further file: the files in flight finish (or are interrupted after
 * shutdown.graceMs), and the task goes back to `pending/` ("stopped"). Throws
 * MountUnavailableError, MountDownError and TargetUnavailableError (the caller returns the task
 * to pending and stops the tick) and program errors; per-file problems are outcomes.
 */
import { isNotFound } from "../runtime/errors.ts";
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { eventOf, taskEvent } from "./events/event.ts";
import { OutboxWriter } from "./events/outbox.ts";
import { unavailableOf } from "./file/failure_scope.ts";
import { type FileJob, migrateFile } from "./file/migrate_file.ts";
import {
  emptyCounts,
  type FileOutcome,
  type OutcomeCounts,
  type OutcomeKind,
  outcomeLine,
} from "./file/outcome.ts";
import { releaseFile } from "./file/release.ts";
import { restoreFile } from "./file/restore.ts";
import type { NodeDirs } from "./spool/layout.ts";
import { DurationHistogram, recordTask, TierFigures } from "./spool/node_metrics.ts";
import { finishTask, quarantineTask } from "./spool/queues.ts";
import { publishRetryTask } from "./spool/retry_task.ts";
import {
  readTaskEntries,
  readTaskHeader,
  type TaskAction,
  type TaskHeader,
} from "./spool/task_file.ts";
import { graceSignal } from "./util/async.ts";
import { crashPoint } from "./util/crash_points.ts";
import { TaskFormatError } from "./util/errors.ts";
import { underResolvedRoot } from "./util/paths.ts";
import { forEachLimit } from "./util/pool.ts";

/** Outcomes that leave the file as asked, said by the counts alone (a vanished file gets a line). */
const QUIET = new Set<OutcomeKind>(["migrated", "skipped", "released", "restored", "removed"]);

export interface TaskSummary {
  task: string;
  /**
   * "stopped": a stop (SIGTERM) left entries unvisited; the task is back in pending/.
   * "exhausted": resumed retry.maxTaskResumes times without finishing; moved to failed/.
   * "unavailable": the mount or the target is unavailable as a whole (`unavailable` says which
   * and why); the task is back in pending/ and the tick stops.
   */
  result: "done" | "failed" | "bad" | "stopped" | "exhausted" | "unavailable";
  unavailable?: { what: "mount" | "target"; error: string };
  counts: OutcomeCounts;
  why?: string;
}

export async function migrateTask(
  ctx: JobContext,
  node: string,
  dirs: NodeDirs,
  name: string,
): Promise<TaskSummary> {
  // Its listener on the process-long stop signal goes when the task ends, however it ends.
  const grace = graceSignal(ctx.signal, ctx.config.shutdown.graceMs);
  try {
    return await runTask(ctx, node, dirs, name, grace.signal);
  } finally {
    grace.release();
  }
}

async function runTask(
  ctx: JobContext,
  node: string,
  dirs: NodeDirs,
  name: string,
  uploadSignal: AbortSignal | undefined,
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
    uploadSignal,
  };
  // Busy files are retried until they have been busy for retry.busyMaxAgeMs, then `stuck`.
  const busySince = header.options.busySince ?? Date.now();
  const action = header.options.action ?? "migrate";
  const outbox = await OutboxWriter.forTask(ctx.rt, dirs, header.id);
  const busy: string[] = [];
  const durations = new DurationHistogram();
  const tier = new TierFigures();

  const record = async (found: FileOutcome, line: number, started: number) => {
    const outcome = stuckIfTooLong(ctx, found, busySince);
    counts[outcome.kind]++;
    if (outcome.kind === "migrated") counts.bytes += outcome.bytes;
    durations.observe(Date.now() - started);
    tier.observe(outcome, Date.now() - started);
    ctx.onOutcome?.(outcome);
    // A file busy, or waiting for its archived object to be readable, is retried later.
    if (outcome.kind === "busy" || outcome.kind === "restore-pending") busy.push(outcome.path);
    // A file left as asked needs no line of its own; any other says why.
    if (!QUIET.has(outcome.kind)) ctx.log.warn(outcomeLine(outcome));
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
        // A stop starts no further file: the rest of the task stays for the next run.
        if (ctx.signal?.aborted) throw new StopRequested();
        if ("error" in entry) {
          const error = `task ${header.id} line ${entry.line}: ${entry.error}`;
          return record({ kind: "rejected", path: "", error }, entry.line, started);
        }
        // Tasks written before the root was resolved name it as configured (a symlink).
        const path = underResolvedRoot(ctx.config, entry.path);
        const outcome = await runEntry(job, action, path);
        await record(outcome, entry.line, started);
        // The file's outcome is recorded, then the tick stops (the probe found the target down).
        if (job.halt) throw job.halt;
        // A stop cut this file: the task goes back to pending and its next run visits it again
        // (even when it was the last entry: no retry task is written for an interrupted file).
        if (outcome.kind === "interrupted") throw new StopRequested();
      },
    );
  } catch (err) {
    // The events of the files that were done are kept, whatever stops the task (not when the
    // mount itself is gone: they are written again when the files are visited again).
    await outbox.flush().catch((flushed) => {
      if (!unavailableOf(err)) throw flushed;
    });
    if (err instanceof StopRequested) {
      await finishTask(ctx.rt, dirs, name, "pending");
      return { task: name, result: "stopped", counts, why: "stopped before its end" };
    }
    const what = unavailableOf(err);
    if (what) {
      await finishTask(ctx.rt, dirs, name, "pending");
      const error = (err as Error).message;
      return {
        task: name,
        result: "unavailable",
        counts,
        why: error,
        unavailable: { what, error },
      };
    }
    if (!(err instanceof TaskFormatError)) throw err;
    // Entries before the broken line ran normally; the task itself is not a valid task.
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
      action: header.options.action,
    });
  }
  const failed = counts.failed + counts.error + counts.rejected + counts.revoked + counts.stuck > 0;
  const source = { requestId: header.requestId, taskId: header.id, node };
  await outbox.add(taskEvent(source, failed ? "failed" : "done", counts));
  await outbox.flush();
  await recordTask(ctx.rt, dirs, failed ? "failed" : "done", counts, durations, tier);
  crashPoint(ctx.rt, "before-finish");
  const why = failed ? whyFailed(counts) : undefined;
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

/** A stop was asked for (ctx.signal): no further entry is started. */
class StopRequested extends Error {}

/** The `.why` of a failed task: the outcomes that need an operator, e.g. "1 error, 2 failed". */
function whyFailed(counts: OutcomeCounts): string {
  const kinds = ["error", "failed", "rejected", "revoked", "stuck"] as const;
  return kinds
    .filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${k}`)
    .join(", ");
}

/** A busy file whose retries have lasted `retry.busyMaxAgeMs` is reported `stuck`, not retried. */
function stuckIfTooLong(ctx: JobContext, outcome: FileOutcome, busySince: number): FileOutcome {
  if (outcome.kind !== "busy" || Date.now() - busySince < ctx.config.retry.busyMaxAgeMs)
    return outcome;
  const since = new Date(busySince).toISOString();
  return { kind: "stuck", path: outcome.path, holder: outcome.holder, busySince: since };
}

/** One entry of a task, by the task's action (docs/tiering.md for release and restore). */
function runEntry(job: FileJob, action: TaskAction, path: string): Promise<FileOutcome> {
  if (action === "release") return releaseFile(job, path);
  if (action === "restore") return restoreFile(job, path);
  return migrateFile(job, path);
}
