import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import { reportNode } from "../../jobs/report.ts";
import { configArg } from "../config.ts";
import { guard, withContext } from "../context.ts";

export default defineCommand({
  meta: {
    name: "report",
    description: "Ship this node's outbox events to Kafka (also part of every run)",
  },
  args: {
    ...configArg,
    node: { type: "string", required: true, description: "Node name, as in the config" },
    once: { type: "boolean", default: true, description: "Ship once and exit" },
  },
  run: ({ args }) =>
    guard(async () => {
      await withContext(args, async (ctx) => {
        assertKnownNode(ctx.config, args.node);
        if (!ctx.config.kafka) {
          consola.info("No kafka configured: the outbox is the report (see `tiermv events`)");
          return;
        }
        const s = await reportNode(ctx, args.node);
        consola.success(
          `${s.shipped} events shipped from ${s.segments} segments, ${s.quarantined} quarantined, ${s.lag} waiting`,
        );
      });
    }),
});
