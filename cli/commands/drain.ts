import { defineCommand } from "citty";
import { consola } from "consola";
import { assertKnownNode } from "../../jobs/context/config.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { configArg } from "../config.ts";
import { guard, withContext } from "../context.ts";

function drainCommand(on: boolean) {
  return defineCommand({
    meta: {
      name: on ? "drain" : "undrain",
      description: on
        ? "Stop a node taking new tasks (running ones finish; --watch exits when idle)"
        : "Let a drained node take tasks again",
    },
    args: { ...configArg, node: { type: "string", required: true, description: "Node name" } },
    run: ({ args }) =>
      guard(async () => {
        await withContext(args, async (ctx) => {
          assertKnownNode(ctx.config, args.node);
          const dirs = nodeDirs(ctx.config.spool, args.node);
          await ctx.rt.fs.mkdirp(dirs.root);
          if (on) await ctx.rt.fs.writeDurable(dirs.drain, `${new Date().toISOString()}\n`);
          else await ctx.rt.fs.remove(dirs.drain);
          consola.success(
            on ? `Node ${args.node} is draining` : `Node ${args.node} takes tasks again`,
          );
        });
      }),
  });
}

export const drain = drainCommand(true);
export const undrain = drainCommand(false);
