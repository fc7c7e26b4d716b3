import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/lib/config.ts";
import { runNodeOnce, type TickSummary } from "../../jobs/run_node.ts";
import { configArg } from "../config.ts";
import { guard, withContext, withNodeLock } from "../context.ts";

function describe(s: TickSummary): string {
  const c = s.counts;
  const mib = (c.bytes / 1048576).toFixed(1);
  const rolled = s.rollback.reduce((n, r) => n + r.processed, 0);
  return `node ${s.node}: ${s.tasks.length} tasks, ${c.migrated} migrated (${mib} MiB), ${c.skipped} skipped, ${c.busy} busy, ${c.failed} failed, ${c.modified} modified, ${c.vanished} vanished, ${c.rejected + c.config} rejected, ${rolled} rolled back`;
}

export default defineCommand({
  meta: { name: "run", description: "Claim and migrate this node's pending tasks" },
  args: {
    ...configArg,
    node: { type: "string", required: true, description: "Node name, as in the config" },
    once: { type: "boolean", default: true, description: "Drain once and exit (for cron)" },
    json: { type: "boolean", default: false, description: "Print the summary as JSON" },
  },
  run: ({ args }) =>
    guard(async () => {
      await withContext(args, async (ctx) => {
        assertKnownNode(ctx.config, args.node);
        await withNodeLock(ctx, args.node, async () => {
          const summary = await runNodeOnce(ctx, args.node);
          if (args.json) console.log(JSON.stringify(summary));
          else consola.success(describe(summary));
          if (summary.skipped) process.exitCode = 1;
        });
      });
    }),
});
