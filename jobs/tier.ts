/**
 * `tiermv release` and `tiermv restore` run in this process for the files under the given paths
 * (docs/tiering.md): at most `migrate.concurrency` files at a time, each under its own flock and
 * epoch, every outcome counted and handed to `onOutcome`. The paths are walked streamed
 * (directories recursively; links and special files left out and counted).
 */
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { eventOf } from "./events/event.ts";
import { OutboxWriter } from "./events/outbox.ts";
import type { FileJob } from "./file/file_job.ts";
import {
  addCounts,
  emptyCounts,
  type FileOutcome,
  type OutcomeCounts,
  tierBytesOf,
} from "./file/outcome.ts";
import { type ReleaseOptions, releaseFile } from "./file/release.ts";
import { removeFile } from "./file/remove.ts";
import { restoreFile } from "./file/restore.ts";
import { type PathProblem, type WalkStats, walkFiles } from "./plan/walk.ts";
import { ensureNodeDirs, nodeDirs } from "./spool/layout.ts";
import { recordTier, TierFigures } from "./spool/node_metrics.ts";
import { newTaskId } from "./util/ids.ts";
import { forEachLimit } from "./util/pool.ts";

export type TierAction = "release" | "restore" | "remove";

export interface TierSummary {
  counts: OutcomeCounts;
  /** Bytes freed (release), written back (restore) or no longer archived (remove). */
  bytes: number;
  walk: WalkStats;
}

export function tierPaths(
  ctx: JobContext,
  node: string,
  action: TierAction,
  paths: string[],
  options: ReleaseOptions = {},
): Promise<TierSummary> {
  const walk: WalkStats = { files: 0, skippedLinks: 0, skippedOther: 0 };
  return tierFiles(
    ctx,
    node,
    action,
    (left) => {
      walk.onProblem = (problem) => left.push(problem);
      return walkFiles(ctx.rt, paths, walk);
    },
    options,
  ).then((s) => ({ ...s, walk }));
}

/** Runs `action` over the files `files` yields (`left`: paths found missing or unnameable meanwhile). */
export async function tierFiles(
  ctx: JobContext,
  node: string,
  action: TierAction,
  files: (left: PathProblem[]) => AsyncIterable<string>,
  options: ReleaseOptions = {},
): Promise<Omit<TierSummary, "walk">> {
  const dirs = nodeDirs(ctx.config.spool, node);
  await ensureNodeDirs(ctx.rt, dirs);
  const id = newTaskId(action.slice(0, 3));
  const job: FileJob = {
    ...ctx,
    node,
    dirs,
    task: { id, requestId: id, retry: 0 },
    target: targetFor(ctx, ctx.config.target),
    inFlight: new Set(),
    seen: { unreadableLocks: 0 },
  };
  const counts = emptyCounts();
  const left: PathProblem[] = [];
  let bytes = 0;
  // Events (released, restored, lost, dirty...) go through the node's outbox to Kafka (`report`).
  const outbox = await OutboxWriter.forTask(ctx.rt, dirs, id);
  let line = 0;
  const tier = new TierFigures();
  const record = async (outcome: FileOutcome, started = Date.now()) => {
    counts[outcome.kind]++;
    tier.observe(outcome, Date.now() - started);
    const source = { requestId: id, taskId: id, node, line: ++line, ms: Date.now() - started };
    // A dry run changes nothing, and says nothing to Kafka either (its refusals and skips
    // included), as it counts nothing in the node's metrics.
    if (!options.dryRun) await outbox.add(eventOf(outcome, source));
    bytes += tierBytesOf(outcome);
    ctx.onOutcome?.(outcome);
  };
  await forEachLimit(files(left), ctx.config.migrate.concurrency, async (path) => {
    if (path.startsWith(`${ctx.config.spool}/`)) return;
    const started = Date.now();
    await record(
      await { release: releaseFile, restore: restoreFile, remove: removeFile }[action](
        job,
        path,
        options,
      ),
      started,
    );
  });
  for (const { path, kind, reason } of left)
    await record(kind === "vanished" ? { kind, path } : { kind: "rejected", path, error: reason });
  await outbox.flush();
  if (!options.dryRun) await recordTier(ctx.rt, dirs, counts, tier);
  counts.bytes = bytes;
  return { counts: addCounts(emptyCounts(), counts), bytes };
}
