import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/lib/config.ts";
import { UsageError } from "../../jobs/lib/errors.ts";
import { submitPaths } from "../../jobs/submit.ts";
import { configArg } from "../config.ts";
import { guard, withContext } from "../context.ts";

export default defineCommand({
  meta: { name: "submit", description: "Publish the files under PATH... as a task for a node" },
  args: {
    ...configArg,
    node: { type: "string", required: true, description: "Node whose queue receives the task" },
    paths: {
      type: "positional",
      required: false,
      description: "Files or directories under the source root",
    },
  },
  run: ({ args }) =>
    guard(async () => {
      const paths = (args._ ?? []).map(String);
      if (paths.length === 0) throw new UsageError("Nothing to submit: give at least one PATH");
      await withContext(args, async (ctx) => {
        assertKnownNode(ctx.config, args.node);
        const summary = await submitPaths(ctx, args.node, paths);
        const skipped = summary.skippedLinks + summary.skippedOther;
        consola.success(
          `Task ${summary.taskId}: ${summary.files} files for node ${summary.node}${skipped ? ` (${skipped} symlinks or special files skipped)` : ""}`,
        );
        console.log(summary.taskId);
      });
    }),
});
