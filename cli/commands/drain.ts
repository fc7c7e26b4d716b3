import { defineCommand } from "citty";
import { consola } from "consola";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { CONFIG_ENV, configArgs, nodeArg } from "../args.ts";
import { withNodeContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

function drainCommand(on: boolean) {
  return defineCommand({
    meta: {
      name: on ? "drain" : "undrain",
      description: on
        ? "Stop a node taking new tasks (running ones finish; --watch exits when idle)"
        : "Let a drained node take tasks again",
    },
    args: { ...configArgs, ...nodeArg },
    run: ({ args }) =>
      withNodeContext(args, async (ctx, node) => {
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
export const drainHelp: CommandHelp = {
  examples: ["tiermv drain --node node-a    # then wait for `tiermv status` to show running 0"],
  env: CONFIG_ENV,
};
export const undrainHelp: CommandHelp = {
  examples: ["tiermv undrain --node node-a"],
  env: CONFIG_ENV,
};
