import { defineCommand } from "citty";
import { listSegments } from "../../jobs/events/outbox.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { delay } from "../../jobs/util/async.ts";
import { CONFIG_ENV, configArgs, nodeArg } from "../args.ts";
import { withNodeContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv events --node node-a | jq -c 'select(.outcome == \"failed\")'",
    "tiermv events --node node-a --follow",
  ],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "events",
    description: "Print a node's outbox events (JSON lines); --follow waits for more",
  },
  args: {
    ...configArgs,
    ...nodeArg,
    follow: { type: "boolean", default: false, description: "Keep printing new events" },
  },
  run: ({ args }) =>
    withNodeContext(
      args,
      async (ctx, node) => {
        const dirs = nodeDirs(ctx.config.spool, node);
        const printed = new Map<string, number>();
        for (;;) {
          for (const { name } of await listSegments(ctx.rt, dirs)) {
            let line = 0;
            const seen = printed.get(name) ?? 0;
            for await (const text of ctx.rt.fs.readLines(`${dirs.outbox}/${name}`)) {
              if (++line > seen && text) console.log(text);
            }
            printed.set(name, line);
          }
          if (!args.follow || ctx.signal?.aborted) return;
          await delay(1000, { signal: ctx.signal });
          if (ctx.signal?.aborted) return;
        }
      },
      { onSignal: args.follow ? "abort" : "exit" },
    ),
});
