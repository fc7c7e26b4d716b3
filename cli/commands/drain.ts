import { defineCommand } from "citty";
import { consola } from "consola";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { configArgs } from "../args.ts";
import { runForNode } from "../context.ts";

function drainCommand(on: boolean) {
  return defineCommand({
    meta: {
      name: on ? "drain" : "undrain",
      description: on
        ? "Stop a node taking new tasks (running ones finish; --watch exits when idle)"
        : "Let a drained node take tasks again",
    },
    args: { ...configArgs, node: { type: "string", required: true, description: "Node name" } },
    run: ({ args }) =>
      runForNode(args, async (ctx, node) => {
        const dirs = nodeDirs(ctx.config.spool, node);
        await ctx.rt.fs.mkdirp(dirs.root);
        if (on) await ctx.rt.fs.writeDurable(dirs.drain, `${new Date().toISOString()}\n`);
        else await ctx.rt.fs.remove(dirs.drain);
        consola.success(on ? `Node ${node} is draining` : `Node ${node} takes tasks again`);
      }),
  });
}

export const drain = drainCommand(true);
export const undrain = drainCommand(false);
