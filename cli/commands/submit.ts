import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { defineCommand } from "citty";
import { consola } from "consola";
import { validateSubmitPaths } from "../../jobs/plan/walk.ts";
import { type RequestPath, STRATEGIES, type Strategy } from "../../jobs/spool/request_file.ts";
import { checkSubmitOptions, submitRequest } from "../../jobs/submit.ts";
import { errnoInWords, UsageError } from "../../jobs/util/errors.ts";
import { CONFIG_ENV, configArgs, jsonArg, pathsArg } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";
import { leftOutClause, logLeftOutPaths } from "../left_out.ts";
import { canonicalArgs } from "../paths.ts";

export const help: CommandHelp = {
  usage: ["[OPTIONS] PATH...", "[OPTIONS] --from FILE"],
  examples: [
    "tiermv submit /mnt/ceph/data/projects/old",
    "tiermv submit --strategy hash-dir --request-id batch-2026-11-25 /mnt/ceph/data/old",
    "find /mnt/ceph/data/logs -type f -mtime +365 | tiermv submit --from -",
  ],
  env: CONFIG_ENV,
};

/** Opens --from at once, so a missing file is a usage error before anything is written. */
async function checkReadable(source: string): Promise<void> {
  if (source === "-") return;
  try {
    await (await open(source, "r")).close();
  } catch (err) {
    throw new UsageError(`Cannot read --from "${source}": ${errnoInWords(err)}`);
  }
}

/** Streams one path per line from a file or stdin ("-"), with its line number; blank lines skipped. */
async function* linesOf(source: string): AsyncGenerator<RequestPath> {
  const input = source === "-" ? process.stdin : createReadStream(source);
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() !== "") yield { path: text, line };
  }
}

/**
 * `lines` with its first item read ahead: null when it has none. An empty --from (a scan that
 * selected nothing, every hour from cron) records no request: nothing in requests/ to prune.
 */
async function nonEmpty(lines: AsyncGenerator<RequestPath>) {
  const first = await lines.next();
  if (first.done) return null;
  return (async function* () {
    yield first.value;
    yield* lines;
  })();
}

export default defineCommand({
  meta: {
    name: "submit",
    description:
      "Submit a request (migrate, or with --action release or restore): paths are split into tasks for the nodes",
  },
  args: {
    ...configArgs,
    node: {
      type: "string",
      valueHint: "NODE",
      description: "Pin the whole request to this node (bypasses the strategy)",
    },
    strategy: {
      type: "enum",
      options: [...STRATEGIES],
      valueHint: "hash|hash-dir|round-robin",
      description: "Placement of files on nodes; default: dispatch.strategy (hash)",
    },
    action: {
      type: "enum",
      options: ["migrate", "release", "restore"],
      valueHint: "migrate|release|restore",
      description: "What the nodes do with the files: migrate (default), release or restore",
    },
    "request-id": {
      type: "string",
      valueHint: "ID",
      description:
        "Idempotency key: a repeat is answered, another request under it refused (default: a new request)",
    },
    from: {
      type: "string",
      valueHint: "FILE",
      description: "Read paths from FILE, one per line ('-' for stdin)",
    },
    ...jsonArg("Print the result as JSON"),
    ...pathsArg("Files or directories under the source root"),
  },
  async run({ args }) {
    const positional = (args._ ?? []).map(String);
    if (positional.length === 0 && !args.from)
      throw new UsageError("Nothing to submit: give PATH... or --from FILE");
    if (positional.length > 0 && args.from)
      throw new UsageError("Give either PATH... or --from, not both");
    if (args.from) await checkReadable(args.from);
    await withContext(args, async (ctx) => {
      // Arguments are checked here for a clear error at once; --from is checked by dispatch.
      const paths = args.from
        ? await nonEmpty(linesOf(args.from))
        : await validateSubmitPaths(
            ctx.rt,
            ctx.config.root,
            await canonicalArgs(ctx.config, positional),
            { shown: positional },
          );
      if (paths === null) {
        checkSubmitOptions(ctx.config, { node: args.node, requestId: args["request-id"] });
        // The shape of a dispatched request's answer (status included), with no request and no
        // tasks: a script testing `.result.status` reads it as done.
        const result = { v: 1, id: null, status: "dispatched", files: 0, tasks: [] };
        const none = {
          id: null,
          duplicate: false,
          result: { ...result, at: new Date().toISOString() },
        };
        if (args.json) return console.log(JSON.stringify(none));
        const source = args.from === "-" ? "stdin" : args.from;
        return consola.info(`Nothing to submit: ${source} held no paths; no request recorded`);
      }
      const submitted = await submitRequest(ctx, {
        paths,
        requestId: args["request-id"],
        strategy: args.strategy as Strategy | undefined,
        node: args.node,
        action: args.action as "migrate" | "release" | "restore" | undefined,
      });
      const r = submitted.result;
      // A path that cannot be migrated (a symlink, a special file, unreadable) needs an operator.
      if ((r?.leftOut?.refused ?? 0) > 0) process.exitCode = 1;
      if (args.json) return console.log(JSON.stringify(submitted));
      if (!r) return consola.info(`Request ${submitted.id} is being dispatched by another process`);
      if (r.status === "rejected")
        throw new UsageError(`Request ${submitted.id} rejected: ${r.reason}`);
      const nodes = new Map<string, number>();
      for (const t of r.tasks) nodes.set(t.node, (nodes.get(t.node) ?? 0) + t.files);
      const spread = [...nodes].map(([n, f]) => `${n}: ${f}`).join(", ");
      const verb = submitted.duplicate ? "was already dispatched" : "dispatched";
      const line = `Request ${submitted.id} ${verb}: ${r.files} files in ${r.tasks.length} tasks (${spread || "none"})${leftOutClause(r.leftOut)}`;
      if ((r.leftOut?.vanished ?? 0) + (r.leftOut?.refused ?? 0) > 0) consola.warn(line);
      else consola.success(line);
      logLeftOutPaths(r);
      for (const t of r.tasks) console.log(t.id);
    });
  },
});
