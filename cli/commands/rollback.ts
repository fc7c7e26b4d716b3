import { defineCommand } from "citty";
import { consola } from "consola";
import { rollbackNode } from "../../jobs/rollback.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { NODE_S3_ENV, nodeOnceArgs } from "../args.ts";
import { withNodeContext, withNodeLock } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: ["tiermv rollback --node node-a"],
  env: NODE_S3_ENV,
};

export default defineCommand({
  meta: { name: "rollback", description: "Roll back this node's journalled failed attempts" },
  args: nodeOnceArgs,
  run: ({ args }) =>
    withNodeContext(args, async (ctx, node) => {
      const s = await withNodeLock(ctx, node, () =>
        rollbackNode(ctx, nodeDirs(ctx.config.spool, node)),
      );
      if (!s) return;
      const line = `${s.processed} rolled back: ${s.cleaned} epochs cleaned, ${s.deleted} object versions deleted, ${s.waiting} waiting for the late-write window, ${s.retried} files to retry, ${s.exhausted} given up, ${s.invalid} invalid lines, ${s.torn} torn fragments${s.blocked ? `; stopped: ${s.blocked}` : ""}`;
      // Given-up files, unreadable journal lines and an unreachable target need an operator.
      const needsOperator = s.exhausted > 0 || s.invalid > 0 || s.blocked !== undefined;
      if (needsOperator) {
        consola.error(line);
        process.exitCode = 1;
      } else consola.success(line);
    }),
});
