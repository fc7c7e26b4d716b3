/**
 * One side of the cross-client flock probe, run inside a node's mount namespace: opens each path
 * O_RDWR through the repo's runtime (FileHandle.tryLock: flock LOCK_EX|LOCK_NB on the mount's
 * threads), prints one JSON line `{path: "locked" | "busy"}`, then holds every lock it took until
 * stdin closes (then closes the descriptors and prints "released").
 *
 *   bun test/ceph/flock_worker.ts <path>...
 */
import { createRuntime } from "../../runtime/bun.ts";
import type { FileHandle } from "../../runtime/types.ts";

const rt = createRuntime();
const held: FileHandle[] = [];
const outcomes: Record<string, string> = {};
for (const path of process.argv.slice(2)) {
  const handle = await rt.openFile(path, { mode: "readwrite" });
  if (await handle.tryLock()) {
    outcomes[path] = "locked";
    held.push(handle);
  } else {
    outcomes[path] = "busy";
    await handle.close();
  }
}
console.log(JSON.stringify(outcomes));
for await (const _ of console) {
  // hold until stdin ends
}
for (const handle of held) await handle.close();
console.log("released");
process.exit(0);
