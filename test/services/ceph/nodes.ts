/**
 * One CephFS client per node: a long-lived process holding a private mount namespace
 * (`unshare -m --propagation private`), and ceph-fuse mounted inside it at the one shared path.
 * Every node sees the same filesystem at the same path through its own client session, as the
 * nodes of a real cluster do. Processes enter a node's namespace with `nsenter -m`, which execs
 * the command itself (no fork), so the pid Bun reports is the pid of the real child.
 */
import { openSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { SpawnOptions, Subprocess } from "bun";
import { FS_NAME } from "./cluster.ts";
import type { CephLayout } from "./conf.ts";
import { ceph, cephEnv, DIE_WITH_PARENT } from "./daemons.ts";
import { systemPath } from "./install.ts";
import { alive, ExitedError, logTail, run, stopChild, waitFor } from "./proc.ts";

/** A node's namespace and client, as plain data (it travels to test processes in env). */
export interface CephNodeInfo {
  name: string;
  /** The process that holds the mount namespace; `nsenter -t nsPid -m` enters it. */
  nsPid: number;
  /** The node's ceph-fuse process: SIGSTOP freezes the mount, SIGCONT thaws it. */
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
  const log = openSync(join(layout.dir, "log", `ceph-fuse.${name}.out`), "a");
  const fuse = Bun.spawn(
    [
      "nsenter",
      "-t",
      String(holder.pid),
      "-m",
      "--",
      ...DIE_WITH_PARENT,
      "ceph-fuse",
      "-f",
      "-c",
      layout.conf,
      "-n",
      `client.${name}`,
      layout.mount,
    ],
    { env: cephEnv(layout), stdin: "ignore", stdout: log, stderr: log },
  );
  const node = { name, nsPid: holder.pid, fusePid: fuse.pid, holder, fuse };
  try {
    await waitFor(
      `ceph-fuse mount of ${name}`,
      () => {
        if (fuse.exitCode !== null) {
          const out = join(layout.dir, "log", `ceph-fuse.${name}.out`);
          throw new ExitedError(
            `ceph-fuse for ${name} exited (${fuse.exitCode}):\n${logTail(out)}`,
          );
        }
        return mountedIn(holder.pid, layout.mount) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  } catch (err) {
    await unmountNode(layout, node);
    throw err;
  }
  return node;
}

function nsId(pid: string): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return "";
  }
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

/**
 * Unmounts inside the namespace (fusermount3 -u, else umount -l), then stops ceph-fuse and the
 * holder by pid. A frozen client is thawed first. Idempotent.
 */
export async function unmountNode(layout: CephLayout, node: MountedNode): Promise<void> {
  if (alive(node.fusePid)) node.fuse.kill("SIGCONT");
  if (alive(node.nsPid) && mountedIn(node.nsPid, layout.mount)) {
    const enter = ["nsenter", "-t", String(node.nsPid), "-m", "--"];
    const env = { PATH: systemPath() };
    await run([...enter, "fusermount3", "-u", layout.mount], { env, timeoutMs: 10_000 }).catch(() =>
      run([...enter, "umount", "-l", layout.mount], { env, timeoutMs: 10_000 }).catch(() => {}),
    );
  }
  // ceph-fuse usually exits after the unmount; once it ignored SIGTERM, so SIGKILL follows.
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
