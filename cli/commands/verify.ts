import { createWriteStream } from "node:fs";
import { defineCommand } from "citty";
import { consola } from "consola";
import { validateSubmitPaths } from "../../jobs/plan/walk.ts";
import { type Finding, verifyPaths } from "../../jobs/verify.ts";
import { configArgs, jsonArg, pathsArg } from "../args.ts";
import { runWithContext } from "../context.ts";

export default defineCommand({
  meta: {
    name: "verify",
    description:
      "Reconcile files and objects: stale states, missing or wrong objects, leftover locks, orphans",
  },
  args: {
    ...configArgs,
    ...jsonArg("One JSON object per finding, then a summary line"),
    "fix-report": { type: "string", description: "Also write the findings to FILE (JSON lines)" },
    ...pathsArg("Files or directories under the source root (default: the root)"),
  },
  run: ({ args }) =>
    runWithContext(args, async (ctx) => {
      const given = (args._ ?? []).map(String);
      const paths = await validateSubmitPaths(
        ctx.rt,
        ctx.config.root,
        given.length > 0 ? given : [ctx.config.root],
      );
      const file = args["fix-report"] ? createWriteStream(args["fix-report"]) : null;
      const report = async (f: Finding) => {
        const line = JSON.stringify(f);
        file?.write(`${line}\n`);
        if (args.json) console.log(line);
        else
          console.log(
            `${f.kind.padEnd(16)} ${f.path ?? ""}${f.key ? ` [${f.key}]` : ""}: ${f.detail}`,
          );
      };
      const s = await verifyPaths(ctx, paths, report);
      await new Promise<void>((resolve) => (file ? file.end(resolve) : resolve()));
      if (args.json) console.log(JSON.stringify({ summary: s }));
      else {
        const counts = Object.entries(s.findings)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`)
          .join(", ");
        consola.info(
          `${s.files} files (${s.committed} committed, ${s.unmigrated} not migrated), ${s.objects} objects: ${s.clean ? "clean" : counts}`,
        );
      }
      if (!s.clean) process.exitCode = 1;
    }),
});
