import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { defineCommand } from "citty";
import { consola } from "consola";
import { validateSubmitPaths } from "../../jobs/plan/walk.ts";
import { STRATEGIES, type Strategy } from "../../jobs/spool/request_file.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs, jsonArg, pathsArg } from "../args.ts";
import { guard, withContext } from "../context.ts";

/** Streams one path per line from a file or stdin ("-"), skipping blank lines. */
async function* linesOf(source: string): AsyncGenerator<string> {
  const input = source === "-" ? process.stdin : createReadStream(source);
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() !== "") yield line;
  }
}

export default defineCommand({
  meta: {
    name: "submit",
    description: "Submit a migration request: paths are split into tasks for the nodes",
  },
  args: {
    ...configArgs,
    node: {
      type: "string",
      description: "Pin the whole request to this node (bypasses the strategy)",
    },
    strategy: { type: "string", description: "hash (default), hash-dir or round-robin" },
    "request-id": {
      type: "string",
      description: "Idempotency key; default: a hash of the request",
    },
    from: { type: "string", description: "Read paths from FILE, one per line ('-' for stdin)" },
    ...jsonArg("Print the result as JSON"),
    ...pathsArg("Files or directories under the source root"),
  },
  run: ({ args }) =>
    guard(async () => {
      const positional = (args._ ?? []).map(String);
      if (positional.length === 0 && !args.from)
        throw new UsageError("Nothing to submit: give PATH... or --from FILE");
      if (positional.length > 0 && args.from)
        throw new UsageError("Give either PATH... or --from, not both");
      const strategy = args.strategy as Strategy | undefined;
      if (strategy !== undefined && !STRATEGIES.includes(strategy)) {
        throw new UsageError(`Unknown strategy "${strategy}": use ${STRATEGIES.join(", ")}`);
      }
      await withContext(args, async (ctx) => {
        // Arguments are checked here for a clear error at once; --from is checked by dispatch.
        const paths = args.from
          ? linesOf(args.from)
          : await validateSubmitPaths(ctx.rt, ctx.config.root, positional);
        const submitted = await submitRequest(ctx, {
          paths,
          requestId: args["request-id"],
          strategy,
          node: args.node,
        });
        const r = submitted.result;
        if (args.json) return console.log(JSON.stringify(submitted));
        if (!r)
          return consola.info(`Request ${submitted.id} is being dispatched by another process`);
        if (r.status === "rejected")
          throw new UsageError(`Request ${submitted.id} rejected: ${r.reason}`);
        const nodes = new Map<string, number>();
        for (const t of r.tasks) nodes.set(t.node, (nodes.get(t.node) ?? 0) + t.files);
        const spread = [...nodes].map(([n, f]) => `${n}: ${f}`).join(", ");
        const verb = submitted.duplicate ? "was already dispatched" : "dispatched";
        consola.success(
          `Request ${submitted.id} ${verb}: ${r.files} files in ${r.tasks.length} tasks (${spread || "none"})`,
        );
        for (const t of r.tasks) console.log(t.id);
      });
    }),
});
