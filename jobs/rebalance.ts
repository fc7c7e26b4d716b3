/**
 * rebalance (off by default): when a node's pending backlog exceeds the threshold, move up to
 * `maxMoves` of its newest pending tasks to the live node (fresh heartbeat) with the smallest
 * backlog. Only pending tasks move, by rename: a task its owner claimed meanwhile makes the rename
 * fail with ENOENT and is skipped, so rebalance and claim never both get a task.
 */
import { liveWithinMs } from "./context/config.ts";
import type { JobContext } from "./context/job_context.ts";
import { heartbeatAgeMs } from "./spool/heartbeat.ts";
import { nodeDirs } from "./spool/layout.ts";
import { listTasks, type Move, movePending } from "./spool/queues.ts";

export async function rebalanceOnce(ctx: JobContext): Promise<Move[]> {
  const { config } = ctx;
  const backlog = new Map<string, string[]>();
  const live: string[] = [];
  for (const node of config.nodes) {
    const dirs = nodeDirs(config.spool, node);
    backlog.set(node, await listTasks(ctx.rt, dirs.pending));
    const age = await heartbeatAgeMs(ctx.rt, dirs);
    if (age !== null && age < liveWithinMs(config) && !(await ctx.rt.fs.exists(dirs.drain)))
      live.push(node);
  }
  const size = (node: string) => backlog.get(node)?.length ?? 0;
  const moves: Move[] = [];
  const heaviest = [...config.nodes].sort((a, b) => size(b) - size(a));
  for (const from of heaviest) {
    if (size(from) <= config.rebalance.threshold) break;
    const to = live.filter((n) => n !== from).sort((a, b) => size(a) - size(b))[0];
    if (!to) break;
    const room = Math.floor((size(from) - size(to)) / 2);
    const count = Math.min(config.rebalance.maxMoves - moves.length, room);
    if (count <= 0) continue;
    const tasks = backlog.get(from) ?? [];
    const picked = tasks.slice(tasks.length - count);
    const moved = await movePending(ctx.rt, picked, { spool: config.spool, from, to });
    moves.push(...moved);
    backlog.set(from, tasks.slice(0, tasks.length - count));
    backlog.set(to, [...(backlog.get(to) ?? []), ...moved.map((m) => m.task)]);
    if (moves.length >= config.rebalance.maxMoves) break;
  }
  for (const m of moves) ctx.log.info(`Rebalanced task ${m.task} from ${m.from} to ${m.to}`);
  return moves;
}
