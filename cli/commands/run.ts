import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode, type Config } from "../../jobs/context/config.ts";
import type { JobContext } from "../../jobs/context/job_context.ts";
import type { TickSummary } from "../../jobs/run_node.ts";
import { runScheduler, type SchedulerSummary } from "../../jobs/scheduler.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { listTasks } from "../../jobs/spool/queues.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs, jsonArg, NODE_S3_ENV } from "../args.ts";
import { withNodesLockedFirst } from "../context.ts";
import { operatorReasons, tickDidSomething } from "../exit_codes.ts";
import type { CommandHelp } from "../help.ts";
import { startProgress } from "../progress.ts";
import { watchLog } from "../watch_log.ts";

export const help: CommandHelp = {
  usage: ["[OPTIONS] --node NODE [--once | --watch]", "[OPTIONS] --all [--once | --watch]"],
  examples: [
    "tiermv run --node node-a --once          # cron: one tick; exit 1 if anything needs you",
    "tiermv run --node node-a --watch         # systemd: tick every schedule.tickMs",
    "tiermv run --all --once --json           # one host: dispatch and drain every node",
  ],
  env: NODE_S3_ENV,
};

function describe(s: TickSummary): string {
  const c = s.counts;
  const mib = (c.bytes / 1048576).toFixed(1);
  const rolled = s.rollback.reduce((n, r) => n + r.processed, 0);
  // Tiering outcomes (tasks of `submit --action`) only when there were any: most ticks migrate.
  const tiering = (["released", "restored", "removed", "refused", "lost", "dirty"] as const)
    .filter((kind) => c[kind] > 0)
    .map((kind) => `, ${c[kind]} ${kind}`)
    .join("");
  return `node ${s.node}: ${s.tasks.length} tasks, ${c.migrated} migrated (${mib} MiB), ${c.skipped} skipped${tiering}, ${c.busy} busy, ${c.failed} failed, ${c.modified} modified, ${c.vanished} vanished, ${c.error} errors, ${c.rejected} rejected, ${c.interrupted} interrupted, ${rolled} rolled back${s.draining ? " (draining)" : ""}`;
}

/** One line per node tick, at the level its outcome deserves (success only for work done). */
function logTick(t: TickSummary): string[] {
  const reasons = operatorReasons(t);
  if (reasons.length > 0) consola.error(`${describe(t)}; needs an operator: ${reasons.join(", ")}`);
  else if (t.counts.busy + t.counts.modified > 0) consola.warn(describe(t));
  else if (t.tasks.length > 0) consola.success(describe(t));
  else consola.info(describe(t));
  return reasons;
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

/** Why the run needs an operator (exit 1): every node's reasons and rejected requests. */
function runReasons(summary: SchedulerSummary): string[] {
  const reasons = summary.nodes.flatMap((t) => operatorReasons(t).map((r) => `${t.node}: ${r}`));
  if (summary.rejectedRequests > 0)
    reasons.push(`${summary.rejectedRequests} requests rejected (inbox/bad/)`);
  if (summary.refusedPaths > 0)
    reasons.push(`${summary.refusedPaths} paths refused at dispatch (see the requests' results)`);
  if (summary.undispatchedRequests > 0)
    reasons.push(
      `${summary.undispatchedRequests} requests could not be dispatched (still in inbox/)`,
    );
  return reasons;
}

/** The one line of a stopped run: what the stop left for the next run. */
function stopLine(ctx: JobContext, summary: SchedulerSummary): string {
  const back = summary.nodes.flatMap((t) => t.tasks).filter((t) => t.result === "stopped");
  const interrupted = summary.counts.interrupted;
  const cut =
    interrupted > 0
      ? `, ${interrupted} uploads interrupted after shutdown.graceMs (${ctx.config.shutdown.graceMs} ms)`
      : "";
  return `Stopped by ${String(ctx.signal?.reason ?? "a signal")}: ${back.length} tasks back in pending/ for the next run${cut}`;
}

export default defineCommand({
  meta: {
    name: "run",
    description: "Claim and migrate pending tasks: one node, or --all from one process",
  },
  args: {
    ...configArgs,
    node: { type: "string", valueHint: "NODE", description: "Node name, as in the config" },
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
      description: "Tick every schedule.tickMs until stopped (SIGTERM, SIGINT) or drained",
    },
    rebalance: {
      type: "boolean",
      default: false,
      description: "Also move pending tasks off overloaded nodes",
    },
    ...jsonArg("Print the summary as JSON"),
  },
  async run({ args }) {
    if (args.all === (args.node !== undefined))
      throw new UsageError("Give exactly one of --node NODE or --all");
    if (args.once && args.watch) throw new UsageError("Give --once or --watch, not both");
    const nodesOf = (config: Config) => {
      const nodes = args.all ? config.nodes : [args.node ?? ""];
      for (const node of nodes) assertKnownNode(config, node);
      return nodes;
    };
    // The locks first, before the shared mount: a second run names a stuck first one.
    await withNodesLockedFirst(args, nodesOf, async (ctx, mine) => {
      // Said when the stop arrives: what happens next, and how long it may take.
      ctx.signal?.addEventListener("abort", () =>
        consola.info(
          `Stopping on ${String(ctx.signal?.reason)}: no new files; uploads in flight may finish within shutdown.graceMs (${ctx.config.shutdown.graceMs} ms)`,
        ),
      );
      const showProgress = process.stderr.isTTY && !args.json && !args.quiet && !args.watch;
      const progress = showProgress ? startProgress(await queuedFiles(ctx, mine)) : null;
      if (progress) ctx.onOutcome = progress.onOutcome;
      const watching = args.watch ? watchLog(ctx.log) : null;
      if (watching) {
        ctx.log = watching.log;
        consola.info(
          `Watching node ${mine.join(", ")} (tick every ${ctx.config.schedule.tickMs} ms)`,
        );
      }
      const summary = await runScheduler(ctx, {
        nodes: mine,
        watch: args.watch,
        dispatch: args.all,
        rebalance: args.rebalance,
        // An idle tick is quiet: only ticks that did something get a line.
        onTick: watching
          ? (ticks) => {
              if (!args.json) for (const t of ticks) if (tickDidSomething(t)) logTick(t);
              watching.endTick(ticks);
            }
          : undefined,
      });
      progress?.stop();
      const reasons = runReasons(summary);
      if (args.json) {
        const [only] = summary.nodes;
        const base =
          args.node && only
            ? {
                ...only,
                requests: summary.requests,
                rejectedRequests: summary.rejectedRequests,
                undispatchedRequests: summary.undispatchedRequests,
                refusedPaths: summary.refusedPaths,
                moves: summary.moves,
              }
            : summary;
        console.log(JSON.stringify({ ...base, needsOperator: reasons }));
      } else if (!args.watch) {
        for (const t of summary.nodes) logTick(t);
        if (summary.requests) consola.info(`${summary.requests} requests dispatched`);
        if (summary.rejectedRequests)
          consola.error(`${summary.rejectedRequests} requests rejected (see inbox/bad/)`);
        if (summary.moves.length) consola.info(`${summary.moves.length} tasks rebalanced`);
      }
      if (summary.stoppedBecause === "signal" && !args.watch) {
        // A stop is clean (exit 0): the rest of the tasks waits in pending/ for the next run.
        consola.info(stopLine(ctx, summary));
        return;
      }
      if (args.watch) {
        const why =
          summary.stoppedBecause === "signal"
            ? `stopped by ${String(ctx.signal?.reason ?? "a signal")}`
            : summary.stoppedBecause === "drained"
              ? "every node it runs is draining and idle"
              : summary.stoppedBecause;
        consola.info(
          `Watch of node ${mine.join(", ")} ends: ${why} (after ${summary.ticks} ticks)`,
        );
        // A watch's failures were logged as they happened; its own stop is clean (exit 0).
        return;
      }
      if (reasons.length > 0) process.exitCode = 1;
    });
  },
});
