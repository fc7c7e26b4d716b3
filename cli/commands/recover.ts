import { defineCommand } from "citty";
import { consola } from "consola";
import { recoverNode } from "../../jobs/recover.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs } from "../args.ts";
import { runForNode, withNodeLock } from "../context.ts";

export default defineCommand({
  meta: {
    name: "recover",
    description:
      "Release a lost node's locks through rollback and return its running tasks to pending",
  },
  args: {
    ...configArgs,
    node: { type: "string", required: true, description: "The node that is gone (must be down)" },
    yes: { type: "boolean", default: false, description: "Do not ask for confirmation" },
    force: {
      type: "boolean",
      default: false,
      description: "Even if its heartbeat is fresh (unsafe)",
    },
    "stale-after": {
      type: "string",
      default: "60",
      description: "Heartbeat age (s) that counts as dead",
    },
  },
  run: ({ args }) =>
    runForNode(args, async (ctx, node) => {
      if (!args.yes) {
        if (!process.stdin.isTTY)
          throw new UsageError("recover changes shared state: pass --yes to confirm");
        const ok = await consola.prompt(`Node "${node}" is powered off and will not come back?`, {
          type: "confirm",
        });
        if (ok !== true) throw new UsageError("Not confirmed: nothing done");
      }
      const s = await withNodeLock(ctx, node, () =>
        recoverNode(ctx, node, {
          force: args.force,
          staleAfterMs: Number(args["stale-after"]) * 1000,
        }),
      );
      if (!s) return;
      consola.success(
        `Recovered node ${s.node}: ${s.locksJournalled} locks rolled back (${s.rollback.deleted} objects deleted, ${s.rollback.released} locks released), ${s.tasksReturned} tasks back to pending`,
      );
    }),
});
