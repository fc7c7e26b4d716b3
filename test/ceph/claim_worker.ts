/**
 * One node claiming spool tasks, run inside the node's namespace: waits for "go" on stdin, lists
 * the pending dirs, and renames every task it sees into its own running dir (the spool's claim).
 * A rename that finds the task gone (ENOENT) is a collision: another node claimed it first.
 * Prints one JSON line with the counts and the per-claim latencies in milliseconds.
 *
 *   bun test/ceph/claim_worker.ts <running-dir> <sorted|shuffled> <pending-dir>...
 */
import { readdirSync, renameSync } from "node:fs";
import { join } from "node:path";

const [running, order, ...pendingDirs] = process.argv.slice(2);
if (!running || (order !== "sorted" && order !== "shuffled") || pendingDirs.length === 0) {
  console.error("usage: claim_worker.ts <running-dir> <sorted|shuffled> <pending-dir>...");
  process.exit(2);
}
console.log("ready");
for await (const line of console) if (line.trim() === "go") break;

const began = performance.now();
const claims: number[] = [];
const collisions: number[] = [];
for (const dir of pendingDirs) {
  const names = readdirSync(dir).sort();
  if (order === "shuffled")
    for (let i = names.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [names[i], names[j]] = [names[j] as string, names[i] as string];
    }
  for (const name of names) {
    const t = performance.now();
    try {
      renameSync(join(dir, name), join(running, name));
      claims.push(performance.now() - t);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw err;
      collisions.push(performance.now() - t);
    }
  }
}
console.log(JSON.stringify({ elapsedMs: performance.now() - began, claims, collisions }));
