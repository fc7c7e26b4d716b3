import { defineCommand } from "citty";
import { consola } from "consola";
import { readLock } from "../../jobs/file/lock.ts";
import { readState } from "../../jobs/file/state.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { isNotFound } from "../../runtime/errors.ts";
import { jsonArg, pathsArg } from "../args.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv inspect /mnt/ceph/data/projects/old/report.pdf",
    "tiermv inspect --json /mnt/ceph/data/a.bin /mnt/ceph/data/b.bin | jq .state.key",
  ],
  env: ["TIERMV_LOG"],
};

async function safely<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export default defineCommand({
  meta: {
    name: "inspect",
    description: "Print the lock and state xattrs of files (exit 1 if one is missing)",
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
      try {
        await rt.fs.stat(path);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        consola.error(`Cannot inspect "${path}": no such file`);
        if (args.json) console.log(JSON.stringify({ path, error: "no such file" }));
        process.exitCode = 1;
        continue;
      }
      const lock = await safely(() => readLock(rt, path));
      const state = await safely(() => readState(rt, path));
      if (args.json) {
        console.log(JSON.stringify({ path, lock, state }));
        continue;
      }
      console.log(path);
      console.log(`  lock:  ${lock ? JSON.stringify(lock) : "none"}`);
      console.log(`  state: ${state ? JSON.stringify(state) : "none"}`);
    }
  },
});
