import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { listTasks, movePending } from "../../jobs/spool/queues.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { CONFIG_ENV, configArgs } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: ["tiermv reassign --from node-c --to node-a   # node-c is gone for good"],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "reassign",
    description: "Move a node's pending tasks (never running ones) to another node",
  },
  args: {
    ...configArgs,
    from: {
      type: "string",
      required: true,
      valueHint: "NODE",
      description: "Node whose pending tasks move",
    },
    to: {
      type: "string",
      required: true,
      valueHint: "NODE",
      description: "Node that receives them",
    },
  },
  async run({ args }) {
    if (args.from === args.to) throw new UsageError("--from and --to name the same node");
    await withContext(args, async (ctx) => {
      assertKnownNode(ctx.config, args.from);
      assertKnownNode(ctx.config, args.to);
      const tasks = await listTasks(ctx.rt, nodeDirs(ctx.config.spool, args.from).pending);
      const moved = await movePending(ctx.rt, tasks, {
        spool: ctx.config.spool,
        from: args.from,
        to: args.to,
      });
      consola.success(`${moved.length} pending tasks moved from ${args.from} to ${args.to}`);
    });
  },
});
