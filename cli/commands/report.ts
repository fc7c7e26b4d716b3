import { defineCommand } from "citty";
import { consola } from "consola";
import { pruneOutbox } from "../../jobs/events/prune.ts";
import { reportNode } from "../../jobs/report.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { CONFIG_ENV, nodeOnceArgs } from "../args.ts";
import { withNodeContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv report --node node-a",
    "tiermv report --node node-a --prune-after 30   # keep 30 days of outbox without Kafka",
  ],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "report",
    description:
      "Ship this node's outbox events to Kafka (also part of every run), and prune the outbox",
  },
  args: {
    ...nodeOnceArgs,
    "prune-after": {
      type: "string",
      valueHint: "DAYS",
      description:
        "Delete sealed outbox segments older than DAYS (at least 1; with Kafka, shipped ones only); default: report.pruneAfterDays",
    },
  },
  run: ({ args }) =>
    withNodeContext(args, async (ctx, node) => {
      const given = args["prune-after"];
      const days = given === undefined ? ctx.config.report.pruneAfterDays : Number(given);
      if (days !== undefined && !(Number.isFinite(days) && days >= 1))
        throw new UsageError(`--prune-after must be a number of days, at least 1, got "${given}"`);
      // Pruning first: it only removes what is old (and, with Kafka, shipped), so it is safe
      // even when the brokers cannot be reached below.
      if (days !== undefined) {
        const dirs = nodeDirs(ctx.config.spool, node);
        const kafka = ctx.config.kafka !== undefined;
        const p = await pruneOutbox(ctx.rt, dirs, { olderThanDays: days, kafka });
        consola.success(
          `Outbox pruned: ${p.segments} segments, ${p.cursors} stale cursors removed`,
        );
      }
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
