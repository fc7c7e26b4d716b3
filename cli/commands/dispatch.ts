import { defineCommand } from "citty";
import { consola } from "consola";
import { dispatchInbox } from "../../jobs/dispatch.ts";
import { CONFIG_ENV, configArgs, onceNoOp } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";
import { leftOutClause, logLeftOutPaths } from "../left_out.ts";

export const help: CommandHelp = {
  examples: ["tiermv dispatch", "tiermv dispatch --once   # the same, as older cron lines say"],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "dispatch",
    description: "Dispatch the requests waiting in the inbox (crashed submitters, HTTP)",
  },
  args: {
    ...configArgs,
    ...onceNoOp,
  },
  run: ({ args }) =>
    withContext(args, async (ctx) => {
      const { results, failed } = await dispatchInbox(ctx);
      let refused = false;
      for (const r of results) {
        if (r.status === "rejected") consola.error(`Request ${r.id} rejected: ${r.reason}`);
        else {
          const line = `Request ${r.id}: ${r.files} files in ${r.tasks.length} tasks${leftOutClause(r.leftOut)}`;
          if ((r.leftOut?.vanished ?? 0) + (r.leftOut?.refused ?? 0) > 0) consola.warn(line);
          else consola.success(line);
          refused = logLeftOutPaths(r) || refused;
        }
      }
      if (results.length + failed.length === 0) consola.info("Inbox empty");
      // A rejected request needs an operator (its reason is in inbox/bad/<id>.jsonl.why), and so
      // does one that could not be dispatched (logged as it happened; it stays in the inbox).
      // A refused path (a symlink, a special file, unreadable) too.
      if (failed.length > 0 || refused || results.some((r) => r.status === "rejected"))
        process.exitCode = 1;
    }),
});
