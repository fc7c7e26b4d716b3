/**
 * Status of every node, read from the spool alone: queue depths, heartbeat age, drain flag,
 * outbox lag and the failed-files backlog. Read-only; safe to run anywhere, any time.
 */
import { liveWithinMs } from "../context/config.ts";
import type { JobContext } from "../context/job_context.ts";
import { outboxLag, SEGMENT } from "../events/outbox.ts";
import { lastReportError } from "../events/report_status.ts";
import { TaskFormatError } from "../util/errors.ts";
import { readNote, unlessMissing } from "../util/stored_file.ts";
import { heartbeatAgeMs } from "./heartbeat.ts";
import { journalBacklog } from "./journal.ts";
import { nodeDirs } from "./layout.ts";
import { readMetrics } from "./node_metrics.ts";
import { listTasks } from "./queues.ts";
import { readTaskHeader } from "./task_file.ts";
import { waitingCleanups } from "./windows.ts";

export interface NodeStatus {
  node: string;
  pending: number;
  running: number;
  done: number;
  failed: number;
  bad: number;
  heartbeatAgeMs: number | null;
  live: boolean;
  draining: boolean;
  /**
   * Pending tasks that name another target than the config's: a task keeps the target it was
   * created with, so these still migrate there after `target` was changed.
   */
  pendingOtherTarget: number;
  /** Outbox segments not yet shipped. */
  outboxSegments: number;
  /** Events waiting in the outbox (the report lag). */
  outboxLag: number;
  /** The last report's error, if the last report failed (null when Kafka is not configured). */
  lastReportError: string | null;
  /** Journal lines that rollback has not processed yet. */
  failedBacklog: number;
  /** Cleanups waiting for the late-write window (unversioned bucket, window fence). */
  waitingCleanups: number;
  /** Unreadable take records met by migrate so far (cumulative, from metrics.json). */
  unreadableLocks: number;
  /** The newest failed tasks (at most FAILED_SHOWN) and why each failed (its `.why`). */
  failedTasks: { task: string; why: string | null }[];
}

/** Failed tasks listed with their reason; `failed` counts them all. */
export const FAILED_SHOWN = 20;

async function failedTasks(ctx: JobContext, dir: string, names: string[]) {
  const out: NodeStatus["failedTasks"] = [];
  for (const name of names.slice(-FAILED_SHOWN).reverse()) {
    const why = await readNote(ctx.rt, `${dir}/${name}.why`);
    out.push({ task: name.replace(/\.task$/, ""), why });
  }
  return out;
}

/** Pending tasks whose header names another target than `target` (unreadable ones not counted). */
async function otherTarget(ctx: JobContext, dir: string, names: string[]): Promise<number> {
  let other = 0;
  for (const name of names) {
    try {
      const header = await unlessMissing(readTaskHeader(ctx.rt, `${dir}/${name}`));
      if (header && header.target !== ctx.config.target) other++; // null: claimed meanwhile
    } catch (err) {
      if (!(err instanceof TaskFormatError)) throw err; // run moves it to bad/ and says why
    }
  }
  return other;
}

export async function nodeStatus(ctx: JobContext, node: string): Promise<NodeStatus> {
  const { rt, config } = ctx;
  const dirs = nodeDirs(config.spool, node);
  const count = async (dir: string) => (await listTasks(rt, dir)).length;
  const failed = await listTasks(rt, dirs.failed);
  const pending = await listTasks(rt, dirs.pending);
  const age = await heartbeatAgeMs(rt, dirs);
  const outbox = (await rt.fs.exists(dirs.outbox)) ? await rt.fs.readDir(dirs.outbox) : [];
  return {
    node,
    pending: pending.length,
    pendingOtherTarget: await otherTarget(ctx, dirs.pending, pending),
    running: await count(dirs.running),
    done: await count(dirs.done),
    failed: failed.length,
    bad: await count(dirs.bad),
    heartbeatAgeMs: age,
    live: age !== null && age < liveWithinMs(config),
    draining: await rt.fs.exists(dirs.drain),
    outboxSegments: outbox.filter((e) => SEGMENT.test(e.name)).length,
    outboxLag: await outboxLag(rt, dirs),
    // Without Kafka nothing is reported: an error of a report from before is no news.
    lastReportError: config.kafka ? await lastReportError(rt, dirs) : null,
    failedBacklog: await journalBacklog(rt, dirs),
    waitingCleanups: (await waitingCleanups(rt, dirs)).waiting.length,
    unreadableLocks: (await readMetrics(rt, dirs)).unreadableLocks,
    failedTasks: await failedTasks(ctx, dirs.failed, failed),
  };
}

export async function clusterStatus(ctx: JobContext): Promise<NodeStatus[]> {
  const out: NodeStatus[] = [];
  for (const node of ctx.config.nodes) out.push(await nodeStatus(ctx, node));
  return out;
}
