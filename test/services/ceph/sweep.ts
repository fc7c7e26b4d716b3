/**
 * Temp dirs of clusters whose test runner died by SIGKILL: their daemons died with it (parent
 * death signal), but nothing was left to remove the dir. Each dir names its owner (pid and start
 * time, so a reused pid is not mistaken for it); a start removes the dirs of dead owners only.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DIR_PREFIX = "tiermv-ceph-";
const OWNER = "owner.json";

/** Records this process as the owner of `dir`. */
export function claimDir(dir: string): void {
  writeFileSync(
    join(dir, OWNER),
    JSON.stringify({ pid: process.pid, start: startTime(process.pid) }),
  );
}

/** Removes the cluster dirs under `parent` whose owner is no longer running; returns them. */
export function sweepDeadOwners(parent: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(parent, name);
    let owner: { pid: number; start: string } | null = null;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER), "utf8"));
    } catch {
      // No owner yet: a start is between mkdtemp and claimDir, unless the dir is old.
      try {
        if (Date.now() - statSync(dir).mtimeMs < 3_600_000) continue;
      } catch {
        continue;
      }
    }
    if (owner && startTime(owner.pid) === owner.start) continue;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    removed.push(dir);
  }
  return removed;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); "" when gone. */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}
