import { defineCommand } from "citty";
import { consola } from "consola";
import { dispatchInbox } from "../../jobs/dispatch.ts";
import { configArgs, onceNoOp } from "../args.ts";
import { runWithContext } from "../context.ts";

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
    runWithContext(args, async (ctx) => {
      const results = await dispatchInbox(ctx);
      for (const r of results) {
        if (r.status === "rejected") consola.warn(`Request ${r.id} rejected: ${r.reason}`);
        else consola.success(`Request ${r.id}: ${r.files} files in ${r.tasks.length} tasks`);
      }
      if (results.length === 0) consola.info("Inbox empty");
    }),
});
