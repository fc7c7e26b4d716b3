import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import { rollbackNode } from "../../jobs/rollback.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { configArg } from "../config.ts";
import { guard, withContext, withNodeLock } from "../context.ts";

export default defineCommand({
  meta: { name: "rollback", description: "Roll back this node's journalled failed attempts" },
  args: {
    ...configArg,
    node: { type: "string", required: true, description: "Node name, as in the config" },
    once: { type: "boolean", default: true, description: "Process the journal once and exit" },
  },
  run: ({ args }) =>
    guard(async () => {
      await withContext(args, async (ctx) => {
        assertKnownNode(ctx.config, args.node);
        const s = await withNodeLock(ctx, args.node, () =>
          rollbackNode(ctx, nodeDirs(ctx.config.spool, args.node)),
        );
        if (!s) return;
        consola.success(
          `${s.processed} rolled back: ${s.deleted} objects deleted, ${s.released} locks released, ${s.retried} files to retry, ${s.exhausted} given up, ${s.invalid} invalid lines`,
        );
      });
    }),
});
