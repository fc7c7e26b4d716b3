import { open } from "node:fs/promises";
import { defineCommand } from "citty";
import { consola } from "consola";
import { errnoInWords, UsageError } from "../../jobs/util/errors.ts";
import { type Finding, verifyPaths } from "../../jobs/verify.ts";
import { isNotFound } from "../../runtime/errors.ts";
import { configArgs, jsonArg, pathsArg, S3_ENV } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";
import { pathsOrRoot } from "../paths.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv verify                                  # the whole source root",
    "tiermv verify --json /mnt/ceph/data/projects/old | jq -c 'select(.kind)'",
    "tiermv verify --fix-report /tmp/findings.jsonl /mnt/ceph/data/projects",
  ],
  env: S3_ENV,
};

async function openReport(path: string) {
  try {
    return await open(path, "w");
  } catch (err) {
    const why = isNotFound(err) ? "its directory does not exist" : errnoInWords(err);
    throw new UsageError(`Cannot write --fix-report "${path}": ${why}`);
  }
}

export default defineCommand({
  meta: {
    name: "verify",
    description:
      "Reconcile files and objects: stale states, missing or wrong objects, leftover locks, orphans",
  },
  args: {
    ...configArgs,
    ...jsonArg("One JSON object per finding, then a summary line"),
    "fix-report": {
      type: "string",
      valueHint: "FILE",
      description: "Also write the findings to FILE (JSON lines)",
    },
    ...pathsArg("Files or directories under the source root (default: the root)"),
  },
  run: ({ args }) =>
    withContext(args, async (ctx) => {
      const paths = await pathsOrRoot(ctx, args._);
      const file = args["fix-report"] ? await openReport(args["fix-report"]) : null;
      const report = async (f: Finding) => {
        const line = JSON.stringify(f);
        await file?.write(`${line}\n`);
        const text = `${f.kind.padEnd(16)} ${f.path ?? ""}${f.key ? ` [${f.key}]` : ""}: ${f.detail}`;
        if (args.json) console.log(line);
        // A lost file is data loss: said as an error, not only listed.
        else if (f.kind === "lost") consola.error(text);
        else console.log(text);
      };
      const s = await verifyPaths(ctx, paths, report);
      await file?.close();
      if (args.json) console.log(JSON.stringify({ summary: s }));
      else {
        const counts = Object.entries(s.findings)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(", ");
        // Every file is one of the three: committed (its state matches it), not migrated (no
        // state), or with a state that is stale or unreadable (reported as a finding).
        const other = s.files - s.committed - s.released - s.unmigrated;
        const otherText = other > 0 ? `, ${other} with a stale or unreadable state` : "";
        consola.info(
          `${s.files} files (${s.committed} committed, ${s.released} released, ${s.unmigrated} not migrated${otherText}), ${s.objects} objects: ${s.clean ? "clean" : counts}`,
        );
      }
      if (!s.clean) process.exitCode = 1;
    }),
});
