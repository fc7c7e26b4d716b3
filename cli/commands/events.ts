import { defineCommand } from "citty";
import { type OutboxReader, readNewEvents } from "../../jobs/events/outbox_reader.ts";
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
        const reader: OutboxReader = { dirs: nodeDirs(ctx.config.spool, node), offsets: new Map() };
        for (;;) {
          for (const line of await readNewEvents(ctx.rt, reader)) console.log(line);
          if (!args.follow || ctx.signal?.aborted) return;
          await delay(1000, { signal: ctx.signal });
          if (ctx.signal?.aborted) return;
        }
      },
      // --follow stops on SIGINT/SIGTERM by itself (exit 0); a plain listing just stops.
      { onSignal: args.follow ? "abort" : "exit" },
    ),
});
