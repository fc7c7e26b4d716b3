import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import { type RetriedTask, retryFailedTasks, retryTask } from "../../jobs/retry.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { CONFIG_ENV, configArgs, jsonArg } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  usage: ["[OPTIONS] [--node NODE] --failed", "[OPTIONS] [--node NODE] --task ID"],
  examples: [
    "tiermv status                             # why did it fail? (fix credentials, bucket...)",
    "tiermv retry --failed                     # every failed task of every node",
    "tiermv retry --node node-a --task d0mwwg1k2-3f9a1c-000001",
  ],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "retry",
    description:
      "Put failed tasks' files back to pending as new tasks (what is committed is skipped)",
  },
  args: {
    ...configArgs,
    node: {
      type: "string",
      valueHint: "NODE",
      description: "Only this node (default: every node)",
    },
    task: { type: "string", valueHint: "ID", description: "The failed task to retry" },
    failed: { type: "boolean", default: false, description: "Every failed task" },
    ...jsonArg("One JSON object per retried task"),
  },
  async run({ args }) {
    if ((args.task === undefined) === !args.failed)
      throw new UsageError("Give exactly one of --task ID or --failed");
    await withContext(args, async (ctx) => {
      if (args.node !== undefined) assertKnownNode(ctx.config, args.node);
      const nodes = args.node !== undefined ? [args.node] : ctx.config.nodes;
      const retried: RetriedTask[] = [];
      for (const node of nodes) {
        if (args.failed) retried.push(...(await retryFailedTasks(ctx, node)));
        else {
          const name = `${(args.task ?? "").replace(/\.task$/, "")}.task`;
          const one = await retryTask(ctx, node, name);
          if (one) retried.push(one);
        }
      }
      if (args.task !== undefined && retried.length === 0)
        throw new UsageError(`No failed task "${args.task}" on ${nodes.join(", ")}`);
      for (const r of retried) {
        if (args.json) console.log(JSON.stringify(r));
        consola.success(
          `Task ${r.task} of node ${r.node} (${r.why ?? "no reason recorded"}): ${r.files} files back to pending as ${r.newTask}`,
        );
      }
      if (retried.length === 0) consola.info("No failed tasks");
    });
  },
});
