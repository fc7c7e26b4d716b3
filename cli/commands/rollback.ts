import { defineCommand } from "citty";
import { consola } from "consola";
import { rollbackNode } from "../../jobs/rollback.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { nodeOnceArgs } from "../args.ts";
import { runForNode, withNodeLock } from "../context.ts";

export default defineCommand({
  meta: { name: "rollback", description: "Roll back this node's journalled failed attempts" },
  args: nodeOnceArgs,
  run: ({ args }) =>
    runForNode(args, async (ctx, node) => {
      const s = await withNodeLock(ctx, node, () =>
        rollbackNode(ctx, nodeDirs(ctx.config.spool, node)),
      );
      if (!s) return;
      consola.success(
        `${s.processed} rolled back: ${s.deleted} objects deleted, ${s.released} locks released, ${s.retried} files to retry, ${s.exhausted} given up, ${s.invalid} invalid lines`,
      );
    }),
});
