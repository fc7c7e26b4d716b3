/**
 * Status of every node, read from the spool alone: queue depths, heartbeat age, drain flag,
 * outbox lag and the failed-files backlog. Read-only; safe to run anywhere, any time.
 */
import type { JobContext } from "../context/job_context.ts";
import { outboxLag, SEGMENT } from "../events/outbox.ts";
import { lastReportError } from "../events/report_status.ts";
import { heartbeatAgeMs } from "./heartbeat.ts";
import { journalBacklog } from "./journal.ts";
import { nodeDirs } from "./layout.ts";
import { listTasks } from "./queues.ts";

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
  /** Outbox segments not yet shipped. */
  outboxSegments: number;
  /** Events waiting in the outbox (the report lag). */
  outboxLag: number;
  /** The last report's error, if the last report failed. */
  lastReportError: string | null;
  /** Journal lines that rollback has not processed yet. */
  failedBacklog: number;
}

export async function nodeStatus(ctx: JobContext, node: string): Promise<NodeStatus> {
  const { rt, config } = ctx;
  const dirs = nodeDirs(config.spool, node);
  const count = async (dir: string) => (await listTasks(rt, dir)).length;
  const age = await heartbeatAgeMs(rt, dirs);
  const outbox = (await rt.fs.exists(dirs.outbox)) ? await rt.fs.readDir(dirs.outbox) : [];
  return {
    node,
    pending: await count(dirs.pending),
    running: await count(dirs.running),
    done: await count(dirs.done),
    failed: await count(dirs.failed),
    bad: await count(dirs.bad),
    heartbeatAgeMs: age,
    live: age !== null && age < config.schedule.liveWithinMs,
    draining: await rt.fs.exists(dirs.drain),
    outboxSegments: outbox.filter((e) => SEGMENT.test(e.name)).length,
    outboxLag: await outboxLag(rt, dirs),
    lastReportError: await lastReportError(rt, dirs),
    failedBacklog: await journalBacklog(rt, dirs),
  };
}

export async function clusterStatus(ctx: JobContext): Promise<NodeStatus[]> {
  const out: NodeStatus[] = [];
  for (const node of ctx.config.nodes) out.push(await nodeStatus(ctx, node));
  return out;
}
