/**
 * A node's ceph-fuse: started inside the node's mount namespace, found again from any process
 * (by namespace and name, so a remount done by a test process is seen by the harness too), and
 * remounted when the MDS has evicted and blocklisted it.
 */
import { openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { DIE_WITH_PARENT } from "./daemons.ts";
import { systemPath } from "./install.ts";
import { ExitedError, exited, logTail, run, waitFor } from "./proc.ts";

/** Where a cluster keeps what a client needs: its conf, its temp dir (logs), the mount path. */
export interface FuseSite {
  conf: string;
  dir: string;
  mount: string;
}

/** Starts `ceph-fuse -n client.<name>` in the namespace of `nsPid` and waits for the mount. */
export async function startFuse(
  site: FuseSite,
  node: { name: string; nsPid: number },
): Promise<Subprocess> {
  const out = join(site.dir, "log", `ceph-fuse.${node.name}.out`);
  const fuse = Bun.spawn(
    [
      ...["nsenter", "-t", String(node.nsPid), "-m", "--", ...DIE_WITH_PARENT],
      ...["ceph-fuse", "-f", "-c", site.conf, "-n", `client.${node.name}`, site.mount],
    ],
    {
      env: { ...process.env, PATH: systemPath(), CEPH_CONF: site.conf },
      stdin: "ignore",
      stdout: openSync(out, "a"),
      stderr: openSync(out, "a"),
    },
  );
  await waitFor(
    `ceph-fuse mount of ${node.name}`,
    () => {
      if (fuse.exitCode !== null)
        throw new ExitedError(
          `ceph-fuse for ${node.name} exited (${fuse.exitCode}):\n${logTail(out)}`,
        );
      return mountedIn(node.nsPid, site.mount) && findFuse(node) === fuse.pid ? true : undefined;
    },
    { timeoutMs: 60_000 },
  ).catch((err) => {
    fuse.kill("SIGKILL");
    throw err;
  });
  return fuse;
}

/** The pid of the node's running ceph-fuse (the one in its namespace), or null. */
export function findFuse(node: { name: string; nsPid: number }): number | null {
  const ns = readlinkOrEmpty(`/proc/${node.nsPid}/ns/mnt`);
  if (ns === "") return null;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "ceph-fuse") continue;
      if (readlinkOrEmpty(`/proc/${entry}/ns/mnt`) !== ns) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv.includes(`client.${node.name}`) && !exited(Number(entry))) return Number(entry);
    } catch {}
  }
  return null;
}

/**
 * Replaces the node's client: thaws and SIGKILLs the running ceph-fuse, detaches its mount
 * (`umount -l`) and mounts a new client at the same path. The new client has a new session and
 * an empty cache; it is a child of the calling process and dies with it.
 */
export async function remountFuse(
  site: FuseSite,
  node: { name: string; nsPid: number },
): Promise<Subprocess> {
  await stopFuse(site, node);
  return await startFuse(site, node);
}

/** Thaws, unmounts (fusermount3 -u, else umount -l) and SIGKILLs the node's ceph-fuse. */
export async function stopFuse(
  site: FuseSite,
  node: { name: string; nsPid: number },
): Promise<void> {
  const pid = findFuse(node);
  if (pid !== null) process.kill(pid, "SIGCONT");
  if (mountedIn(node.nsPid, site.mount)) {
    const enter = ["nsenter", "-t", String(node.nsPid), "-m", "--"];
    const env = { PATH: systemPath() };
    await run([...enter, "fusermount3", "-u", site.mount], { env, timeoutMs: 10_000 }).catch(() =>
      run([...enter, "umount", "-l", site.mount], { env, timeoutMs: 10_000 }).catch(() => {}),
    );
  }
  if (pid === null) return;
  // ceph-fuse usually exits after the unmount; once it ignored SIGTERM, so it is not asked.
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
  await waitFor(`ceph-fuse ${pid} to exit`, () => (exited(pid) ? true : undefined), {
    timeoutMs: 10_000,
  });
}

/** True when a ceph-fuse mount sits at `path` in the namespace of `pid`. */
export function mountedIn(pid: number, path: string): boolean {
  try {
    const info = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    return info.split("\n").some((line) => {
      const [pre, post] = line.split(" - ");
      return pre?.split(" ")[4] === path && (post ?? "").startsWith("fuse.ceph-fuse");
    });
  } catch {
    return false;
  }
}

function readlinkOrEmpty(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}
