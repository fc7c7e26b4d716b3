import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import type { JobContext } from "../../jobs/context/job_context.ts";
import type { TickSummary } from "../../jobs/run_node.ts";
import { runScheduler } from "../../jobs/scheduler.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { listTasks } from "../../jobs/spool/queues.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs, jsonArg } from "../args.ts";
import { guard, withContext, withNodeLocks } from "../context.ts";
import { startProgress } from "../progress.ts";

function describe(s: TickSummary): string {
  const c = s.counts;
  const mib = (c.bytes / 1048576).toFixed(1);
  const rolled = s.rollback.reduce((n, r) => n + r.processed, 0);
  return `node ${s.node}: ${s.tasks.length} tasks, ${c.migrated} migrated (${mib} MiB), ${c.skipped} skipped, ${c.busy} busy, ${c.failed} failed, ${c.modified} modified, ${c.vanished} vanished, ${c.rejected + c.config} rejected, ${rolled} rolled back${s.draining ? " (draining)" : ""}`;
}

/** Entries in the nodes' pending and running tasks: the progress line's total (retries excluded). */
async function queuedFiles(ctx: JobContext, nodes: string[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const dirs = nodeDirs(ctx.config.spool, node);
    for (const dir of [dirs.pending, dirs.running]) {
      for (const name of await listTasks(ctx.rt, dir)) {
        for await (const line of ctx.rt.fs.readLines(`${dir}/${name}`, { maxLineBytes: 1 << 20 }))
          if (line) total++;
        total--; // the header line
      }
    }
  }
  return total;
}

export default defineCommand({
  meta: {
    name: "run",
    description: "Claim and migrate pending tasks: one node, or --all from one process",
  },
  args: {
    ...configArgs,
    node: { type: "string", description: "Node name, as in the config" },
    all: {
      type: "boolean",
      default: false,
      description: "Dispatch the inbox and drain every node's queue",
    },
    once: {
      type: "boolean",
      default: false,
      description: "One tick, then exit (the default; for cron)",
    },
    watch: {
      type: "boolean",
      default: false,
      description: "Tick every schedule.tickMs until stopped or drained",
    },
    rebalance: {
      type: "boolean",
      default: false,
      description: "Also move pending tasks off overloaded nodes",
    },
    ...jsonArg("Print the summary as JSON"),
  },
  run: ({ args }) =>
    guard(async () => {
      if (args.all === (args.node !== undefined))
        throw new UsageError("Give exactly one of --node N or --all");
      if (args.once && args.watch) throw new UsageError("Give --once or --watch, not both");
      await withContext(args, async (ctx) => {
        const nodes = args.all ? ctx.config.nodes : [args.node ?? ""];
        for (const node of nodes) assertKnownNode(ctx.config, node);
        await withNodeLocks(ctx, nodes, async (mine) => {
          const showProgress = process.stderr.isTTY && !args.json && !args.quiet && !args.watch;
          const progress = showProgress ? startProgress(await queuedFiles(ctx, mine)) : null;
          if (progress) ctx.onOutcome = progress.onOutcome;
          const summary = await runScheduler(ctx, {
            nodes: mine,
            watch: args.watch,
            dispatch: args.all,
            rebalance: args.rebalance,
            onTick:
              args.watch && !args.json
                ? (ticks) => {
                    for (const t of ticks) consola.info(describe(t));
                  }
                : undefined,
          });
          progress?.stop();
          if (args.json) {
            const [only] = summary.nodes;
            console.log(
              JSON.stringify(
                args.node && only
                  ? { ...only, requests: summary.requests, moves: summary.moves }
                  : summary,
              ),
            );
          } else {
            if (!args.watch) for (const t of summary.nodes) consola.success(describe(t));
            if (summary.requests) consola.info(`${summary.requests} requests dispatched`);
            if (summary.moves.length) consola.info(`${summary.moves.length} tasks rebalanced`);
          }
          if (summary.nodes.some((t) => t.skipped)) process.exitCode = 1;
        });
      });
    }),
});
