import { defineCommand } from "citty";
import { consola } from "consola";
import { readFileRecords } from "../../jobs/file/inspect_file.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { isNotFound } from "../../runtime/errors.ts";
import { createRuntime } from "../../runtime/host.ts";
import { jsonArg, pathsArg } from "../args.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv inspect /mnt/ceph/data/projects/old/report.pdf",
    "tiermv inspect --json /mnt/ceph/data/a.bin /mnt/ceph/data/b.bin | jq .state.key",
  ],
  usage: ["[OPTIONS] PATH..."],
  env: ["TIERMV_LOG"],
};

export default defineCommand({
  meta: {
    name: "inspect",
    description:
      "Print a file's protocol records: epochs, outcomes, the current state, who holds it (exit 1 if one is missing)",
  },
  args: {
    ...jsonArg("One JSON object per line"),
    ...pathsArg("Files to inspect"),
  },
  async run({ args }) {
    const paths = (args._ ?? []).map(String);
    if (paths.length === 0) throw new UsageError("Give at least one PATH to inspect");
    const rt = createRuntime();
    for (const path of paths) {
      let handle: Awaited<ReturnType<typeof rt.openFile>>;
      try {
        handle = await rt.openFile(path, { mode: "read" });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        consola.error(`Cannot inspect "${path}": no such file`);
        if (args.json) console.log(JSON.stringify({ path, error: "no such file" }));
        process.exitCode = 1;
        continue;
      }
      try {
        const kind = (await handle.stat()).kind;
        if (kind !== "file") {
          // A directory's xattrs are not tiermv's: it tracks regular files only.
          consola.error(`Cannot inspect "${path}": not a regular file (${kind})`);
          if (args.json)
            console.log(JSON.stringify({ path, error: `not a regular file (${kind})` }));
          process.exitCode = 1;
          continue;
        }
        const r = await readFileRecords(rt, handle);
        if (args.json) {
          console.log(JSON.stringify(r));
          continue;
        }
        console.log(`${path} (inode ${r.ino})`);
        const current = r.current
          ? `epoch ${r.current.epoch}: ${JSON.stringify(r.current.state)}`
          : "none";
        console.log(`  state:  ${current}`);
        if (r.tier)
          console.log(
            `  tier:   ${r.tier.tier}, ${r.tier.size} bytes here${r.tier.archivedSize === null ? "" : `, ${r.tier.archivedSize} archived at ${r.tier.key}`}`,
          );
        console.log(`  holder: ${r.holder}${r.error ? ` (${r.error})` : ""}`);
        for (const e of r.epochs) {
          console.log(`  epoch ${e.n}:`);
          if (e.take) console.log(`    l: ${JSON.stringify(e.take)}`);
          if (e.outcome) console.log(`    e: ${JSON.stringify(e.outcome)}`);
          if (e.clean) console.log(`    c: ${JSON.stringify(e.clean)}`);
        }
        if (r.v1.lock) console.log(`  v1 lock:  ${r.v1.lock}`);
        if (r.v1.state) console.log(`  v1 state: ${r.v1.state}`);
      } finally {
        await handle.close();
      }
    }
  },
});
