/**
 * One CephFS client per node: a long-lived process holding a private mount namespace
 * (`unshare -m --propagation private`), and ceph-fuse mounted inside it at the one shared path.
 * Every node sees the same filesystem at the same path through its own client session, as the
 * nodes of a real cluster do. Processes enter a node's namespace with `nsenter -m`, which execs
 * the command itself (no fork), so the pid Bun reports is the pid of the real child.
 */
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import type { SpawnOptions, Subprocess } from "bun";
import { FS_NAME } from "./cluster.ts";
import type { CephLayout } from "./conf.ts";
import { ceph, DIE_WITH_PARENT } from "./daemons.ts";
import { startFuse, stopFuse } from "./fuse.ts";
import { systemPath } from "./install.ts";
import { alive, stopChild, waitFor } from "./proc.ts";

/** A node's namespace and client, as plain data (it travels to test processes in env). */
export interface CephNodeInfo {
  name: string;
  /** The process that holds the mount namespace; `nsenter -t nsPid -m` enters it. */
  nsPid: number;
  /** The node's ceph-fuse at start (a remount replaces it: `CephService.fusePid` is current). */
  fusePid: number;
}

export interface MountedNode extends CephNodeInfo {
  holder: Subprocess;
  fuse: Subprocess;
}

/** Creates `client.<name>` (fs caps with `p`, so it may set quotas) and mounts it. */
export async function mountNode(layout: CephLayout, name: string): Promise<MountedNode> {
  const keyring = join(layout.dir, "keyring", `client.${name}.keyring`);
  await ceph(layout, ["fs", "authorize", FS_NAME, `client.${name}`, "/", "rwp", "-o", keyring]);
  const holder = Bun.spawn(
    ["unshare", "-m", "--propagation", "private", "--", ...DIE_WITH_PARENT, "sleep", "infinity"],
    {
      env: { PATH: systemPath() },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    },
  );
  // unshare execs sleep once the namespace exists: wait until the pid's namespace differs.
  const ours = nsId("self");
  await waitFor(
    `mount namespace of ${name}`,
    () => {
      const id = nsId(String(holder.pid));
      return id !== "" && id !== ours ? true : undefined;
    },
    { timeoutMs: 10_000 },
  ).catch(async (err) => {
    holder.kill("SIGKILL");
    await holder.exited;
    throw err;
  });
  const site = { conf: layout.conf, dir: layout.dir, mount: layout.mount };
  const fuse = await startFuse(site, { name, nsPid: holder.pid }).catch(async (err) => {
    holder.kill("SIGKILL");
    await holder.exited;
    throw err;
  });
  return { name, nsPid: holder.pid, fusePid: fuse.pid, holder, fuse };
}

function nsId(pid: string): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return "";
  }
}

/**
 * Unmounts inside the namespace (fusermount3 -u, else umount -l) and SIGKILLs the node's
 * ceph-fuse (thawed first; the one running now, which a remount may have replaced), then the
 * holder. Idempotent.
 */
export async function unmountNode(layout: CephLayout, node: MountedNode): Promise<void> {
  if (alive(node.nsPid))
    await stopFuse({ conf: layout.conf, dir: layout.dir, mount: layout.mount }, node);
  await stopChild(node.fuse, 5000);
  node.holder.kill("SIGKILL");
  await node.holder.exited;
}

/** Bun.spawn inside the node's mount namespace; the returned pid is the command's own. */
export function spawnIn<
  const In extends SpawnOptions.Writable = "ignore",
  const Out extends SpawnOptions.Readable = "pipe",
  const Err extends SpawnOptions.Readable = "inherit",
>(
  nsPid: number,
  cmd: string[],
  options: SpawnOptions.SpawnOptions<In, Out, Err> = {},
): Subprocess<In, Out, Err> {
  const cwd = options.cwd ?? process.cwd();
  return Bun.spawn(["nsenter", "-t", String(nsPid), "-m", `--wd=${cwd}`, "--", ...cmd], {
    ...options,
    env: { PATH: systemPath(), ...(options.env ?? process.env) },
  });
}
