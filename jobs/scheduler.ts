/**
 * The scheduler: one tick = dispatch the inbox (with --all), run every given node once, and
 * rebalance on its own interval when enabled. `--once` runs one tick (cron); `--watch` ticks
 * every `schedule.tickMs` until stopped, or until every node it runs is draining and idle.
 */

import type { JobContext } from "./context/job_context.ts";
import { dispatchInbox } from "./dispatch.ts";
import { pruneOutbox } from "./events/prune.ts";
import { addCounts, emptyCounts, type OutcomeCounts } from "./file/outcome.ts";
import { rebalanceOnce } from "./rebalance.ts";
import { runNodeOnce, type TickSummary } from "./run_node.ts";
import { startHeartbeats } from "./spool/heartbeat.ts";
import { nodeDirs } from "./spool/layout.ts";
import { checkSpool } from "./spool/marker.ts";
import type { Move } from "./spool/queues.ts";
import { deadline, delay } from "./util/async.ts";
import { MountUnavailableError } from "./util/errors.ts";

/** `report.pruneAfterDays`: the outbox is pruned on the first tick, then at most this often. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface SchedulerOptions {
  nodes: string[];
  watch: boolean;
  dispatch: boolean;
  rebalance: boolean;
  onTick?: (tick: TickSummary[]) => void;
}

export interface SchedulerSummary {
  ticks: number;
  requests: number;
  /** Requests that dispatch rejected (moved to inbox/bad/ with a reason). */
  rejectedRequests: number;
  /** Requests that could not be dispatched (an error, logged); they stay in the inbox. */
  undispatchedRequests: number;
  /** Paths of dispatched requests that cannot be migrated (a symlink, special file, unreadable). */
  refusedPaths: number;
  counts: OutcomeCounts;
  moves: Move[];
  nodes: TickSummary[];
  stoppedBecause: "once" | "drained" | "signal";
}

export async function runScheduler(
  ctx: JobContext,
  options: SchedulerOptions,
): Promise<SchedulerSummary> {
  // Every node this process runs stays live for its whole life (with --all, a node whose turn
  // has not come yet too; each tick also beats for its own node).
  const beats = startHeartbeats(
    ctx.rt,
    options.nodes.map((node) => ({ node, dirs: nodeDirs(ctx.config.spool, node) })),
    { everyMs: ctx.config.schedule.heartbeatMs, log: ctx.log },
  );
  try {
    return await schedule(ctx, options);
  } finally {
    beats.stop();
  }
}

async function schedule(ctx: JobContext, options: SchedulerOptions): Promise<SchedulerSummary> {
  const summary: SchedulerSummary = {
    ticks: 0,
    requests: 0,
    rejectedRequests: 0,
    undispatchedRequests: 0,
    refusedPaths: 0,
    counts: emptyCounts(),
    moves: [],
    nodes: [],
    stoppedBecause: "once",
  };
  let lastRebalance = 0;
  let lastPrune = 0;
  for (;;) {
    // Every tick, not only at start: a spool whose mount went away is never recreated locally.
    const ms = ctx.config.mount.timeoutMs;
    await deadline(checkSpool(ctx.rt, ctx.config.spool), ms, {
      onTimeout: () =>
        new MountUnavailableError("check the spool marker in", ctx.config.spool, ms, "deadline"),
    });
    summary.ticks++;
    if (options.dispatch) {
      const { results, failed } = await dispatchInbox(ctx);
      summary.requests += results.length;
      for (const r of results) {
        if (r.status === "rejected") {
          summary.rejectedRequests++;
          ctx.log.error(`Request ${r.id} rejected: ${r.reason}`);
        }
        summary.refusedPaths += r.leftOut?.refused ?? 0;
      }
      summary.undispatchedRequests += failed.length;
    }
    const ticks: TickSummary[] = [];
    for (const node of options.nodes) {
      if (ctx.signal?.aborted) break;
      ticks.push(await runNodeOnce(ctx, node));
    }
    for (const t of ticks) addCounts(summary.counts, t.counts);
    const days = ctx.config.report.pruneAfterDays;
    if (days !== undefined && Date.now() - lastPrune >= PRUNE_EVERY_MS) {
      for (const t of ticks) {
        const dirs = nodeDirs(ctx.config.spool, t.node);
        const pruned = await pruneOutbox(ctx.rt, dirs, {
          olderThanDays: days,
          kafka: ctx.config.kafka !== undefined,
        });
        if (pruned.segments > 0)
          ctx.log.info(`Node ${t.node}: ${pruned.segments} outbox segments pruned`);
      }
      lastPrune = Date.now();
    }
    summary.nodes = ticks;
    options.onTick?.(ticks);
    if (options.rebalance && Date.now() - lastRebalance >= ctx.config.rebalance.intervalMs) {
      summary.moves.push(...(await rebalanceOnce(ctx)));
      lastRebalance = Date.now();
    }
    if (!options.watch) return summary;
    if (ctx.signal?.aborted) return { ...summary, stoppedBecause: "signal" };
    if (ticks.length > 0 && ticks.every((t) => t.draining))
      return { ...summary, stoppedBecause: "drained" };
    await delay(ctx.config.schedule.tickMs, { signal: ctx.signal });
    if (ctx.signal?.aborted) return { ...summary, stoppedBecause: "signal" };
  }
}
