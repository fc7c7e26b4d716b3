import { defineCommand } from "citty";
import { readLock } from "../../jobs/file/lock.ts";
import { readState } from "../../jobs/file/state.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { jsonArg, pathsArg } from "../args.ts";
import { guard } from "../context.ts";

async function safely<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export default defineCommand({
  meta: { name: "inspect", description: "Print the lock and state xattrs of files" },
  args: {
    ...jsonArg("One JSON object per line"),
    ...pathsArg("Files to inspect"),
  },
  run: ({ args }) =>
    guard(async () => {
      const paths = (args._ ?? []).map(String);
      if (paths.length === 0) throw new UsageError("Give at least one PATH to inspect");
      const rt = createRuntime();
      for (const path of paths) {
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
    }),
});
