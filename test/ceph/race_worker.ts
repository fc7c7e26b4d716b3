/**
 * One side of a cross-client race, run inside a node's mount namespace: waits for "go" on stdin
 * (so every side starts together), then for each path either creates the lock xattr with
 * XATTR_CREATE through the repo's runtime binding, or renames the file into `dest`. Prints one
 * JSON line: the outcome per path ("won", "lost" or an errno name).
 *
 *   bun test/ceph/race_worker.ts xattr <value> <path>...
 *   bun test/ceph/race_worker.ts rename <dest-dir> <path>...
 */
import { renameSync } from "node:fs";
import { basename, join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { XattrExistsError } from "../../runtime/errors.ts";

const [op, arg, ...paths] = process.argv.slice(2);
if ((op !== "xattr" && op !== "rename") || arg === undefined) {
  console.error("usage: race_worker.ts xattr|rename <value|dest> <path>...");
  process.exit(2);
}
const rt = createRuntime();
const value = new TextEncoder().encode(arg);
console.log("ready");
for await (const line of console) if (line.trim() === "go") break;

const outcomes: Record<string, string> = {};
for (const path of paths) {
  try {
    if (op === "xattr") await rt.xattr.set(path, "user.tiermv.lock", value, "create");
    else renameSync(path, join(arg, basename(path)));
    outcomes[path] = "won";
  } catch (err) {
    if (err instanceof XattrExistsError) outcomes[path] = "lost";
    else if ((err as { code?: string }).code === "ENOENT" && op === "rename")
      outcomes[path] = "lost";
    else outcomes[path] = (err as { code?: string }).code ?? String(err);
  }
}
console.log(JSON.stringify(outcomes));
