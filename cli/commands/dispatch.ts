import { defineCommand } from "citty";
import { consola } from "consola";
import { dispatchInbox } from "../../jobs/dispatch.ts";
import { configArg } from "../config.ts";
import { guard, withContext } from "../context.ts";

export default defineCommand({
  meta: {
    name: "dispatch",
    description: "Dispatch the requests waiting in the inbox (crashed submitters, HTTP)",
  },
  args: {
    ...configArg,
    once: { type: "boolean", default: true, description: "Process the inbox once and exit" },
  },
  run: ({ args }) =>
    guard(async () => {
      await withContext(args, async (ctx) => {
        const results = await dispatchInbox(ctx);
        for (const r of results) {
          if (r.status === "rejected") consola.warn(`Request ${r.id} rejected: ${r.reason}`);
          else consola.success(`Request ${r.id}: ${r.files} files in ${r.tasks.length} tasks`);
        }
        if (results.length === 0) consola.info("Inbox empty");
      });
    }),
});
