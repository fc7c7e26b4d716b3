import { defineCommand } from "citty";
import { clusterStatus, FAILED_SHOWN, type NodeStatus } from "../../jobs/spool/node_status.ts";
import { CONFIG_ENV, configArgs, jsonArg } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv status",
    "tiermv status --json | jq '.[] | {node, pending, failed, failedTasks}'",
  ],
  env: CONFIG_ENV,
};

function age(ms: number | null): string {
  if (ms === null) return "never";
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  return `${Math.round(ms / 60_000)}m`;
}

function table(rows: NodeStatus[]): string {
  const head = [
    "node",
    "pending",
    "running",
    "done",
    "failed",
    "bad",
    "heartbeat",
    "state",
    "outbox-lag",
    "failed-files",
    "waiting",
    "unreadable-locks",
  ];
  const body = rows.map((r) => [
    r.node,
    String(r.pending),
    String(r.running),
    String(r.done),
    String(r.failed),
    String(r.bad),
    age(r.heartbeatAgeMs),
    r.draining ? "draining" : r.live ? "live" : "stale",
    String(r.outboxLag),
    String(r.failedBacklog),
    String(r.waitingCleanups),
    String(r.unreadableLocks),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

export default defineCommand({
  meta: {
    name: "status",
    description: "Per node: queue depths, heartbeat age, drain, outbox and failed-files backlog",
  },
  args: {
    ...configArgs,
    ...jsonArg("JSON instead of a table"),
  },
  run: ({ args }) =>
    withContext(args, async (ctx) => {
      const rows = await clusterStatus(ctx);
      if (args.json) return console.log(JSON.stringify(rows));
      console.log(table(rows));
      for (const r of rows) {
        if (r.pendingOtherTarget > 0)
          console.log(
            `${r.node}: ${r.pendingOtherTarget} pending tasks name another target than the config's ${ctx.config.target}: they migrate to the target they name`,
          );
        if (r.lastReportError) console.log(`${r.node}: last report failed: ${r.lastReportError}`);
        for (const f of r.failedTasks)
          console.log(`${r.node}: task ${f.task} failed: ${f.why ?? "(no reason recorded)"}`);
        if (r.failed > FAILED_SHOWN)
          console.log(`${r.node}: ... and ${r.failed - FAILED_SHOWN} older failed tasks`);
      }
    }),
});
