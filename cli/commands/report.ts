import { defineCommand } from "citty";
import { consola } from "consola";
import { reportNode } from "../../jobs/report.ts";
import { CONFIG_ENV, nodeOnceArgs } from "../args.ts";
import { withNodeContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: ["tiermv report --node node-a"],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "report",
    description: "Ship this node's outbox events to Kafka (also part of every run)",
  },
  args: nodeOnceArgs,
  run: ({ args }) =>
    withNodeContext(args, async (ctx, node) => {
      if (!ctx.config.kafka) {
        consola.info("No kafka configured: the outbox is the report (see `tiermv events`)");
        return;
      }
      const s = await reportNode(ctx, node);
      consola.success(
        `${s.shipped} events shipped from ${s.segments} segments, ${s.quarantined} quarantined, ${s.lag} waiting`,
      );
    }),
});
