import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { listTasks, movePending } from "../../jobs/spool/queues.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs } from "../args.ts";
import { guard, withContext } from "../context.ts";

export default defineCommand({
  meta: {
    name: "reassign",
    description: "Move a node's pending tasks (never running ones) to another node",
  },
  args: {
    ...configArgs,
    from: { type: "string", required: true, description: "Node whose pending tasks move" },
    to: { type: "string", required: true, description: "Node that receives them" },
  },
  run: ({ args }) =>
    guard(async () => {
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
    }),
});
