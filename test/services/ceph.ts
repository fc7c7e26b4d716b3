/**
 * A real single-host Ceph (Debian's 16.2 packages, installed when missing): mon, mgr, one
 * bluestore OSD on a sparse file, MDS with a CephFS filesystem, radosgw with an S3 user, and one
 * ceph-fuse client per node, each in its own mount namespace at the one shared path `mount`.
 * Everything lives in a fresh temp dir and binds to 127.0.0.1 on ports free at start; `stop()`
 * stops what this start started, by pid, and nothing else. Needs root and /dev/fuse.
 *
 * A test process reaches a cluster started elsewhere (test/run.ts) through `attachCeph(info)`:
 * the same handle, whose `stop()` does nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bootstrapMon,
  createRgwUser,
  startMds,
  startMgr,
  startOsd,
  startRgw,
} from "./ceph/cluster.ts";
import { planLayout, renderConf } from "./ceph/conf.ts";
import { assertLoopbackOnly, Daemons } from "./ceph/daemons.ts";
import { attachCeph, type CephInfo, type CephService } from "./ceph/handle.ts";
import { ensureCephPackages } from "./ceph/install.ts";
import { type MountedNode, mountNode, unmountNode } from "./ceph/nodes.ts";
import { CephStartError, killSyncAndRemove, run } from "./ceph/proc.ts";
import { claimDir, DIR_PREFIX, sweepDeadOwners } from "./ceph/sweep.ts";
import { own } from "./owned.ts";

export type { CephInfo, CephService } from "./ceph/handle.ts";
export { attachCeph, cephTestEnv } from "./ceph/handle.ts";
export type { CephNodeInfo } from "./ceph/nodes.ts";
export { CephStartError } from "./ceph/proc.ts";

export const DEFAULT_NODES = ["node-a", "node-b"];

const RECONNECT_CONF = `
[mds]
mds session blocklist on timeout = false
mds session blocklist on evict = false

[client]
client reconnect stale = true
`;

/**
 * The cluster `npm test` shares between all test files: Ceph's own eviction (blocklisting), but
 * after 30 s instead of 60. A test that gets a node evicted remounts it (`remount(node)`), so
 * the node works again for later tests. Three clients: the chaos run's three nodes; in the
 * two-node suites node-c is the checker's own client (test/cluster_kinds.ts).
 */
export const SUITE_CEPH_OPTIONS: { sessionTimeoutSec: number; nodes: string[] } = {
  sessionTimeoutSec: 30,
  nodes: ["node-a", "node-b", "node-c"],
};

/**
 * Installs (when missing) and starts a cluster with one client per node. Throws CephStartError
 * naming the step that failed, after stopping whatever it had started.
 */
export async function startCeph(
  options: {
    nodes?: string[];
    /** ceph.conf text appended after ours (sections and settings), e.g. for a probe. */
    extraConf?: string;
    /**
     * Ceph's default (false): a client the MDS evicts (it did not answer for the session
     * timeout, e.g. frozen while another client needed its capabilities) is blocklisted, and its
     * mount fails every call with ESHUTDOWN until `remount(node)`. True: no blocklist, and the
     * client reconnects by itself once it runs again, but may then serve stale cached data (seen
     * once: a read of "a" for a file that was "ab"; docs/ceph.md, "A hung mount").
     */
    evictedClientsReconnect?: boolean;
    /** The filesystem's session_timeout: how long until that eviction (Ceph: 60 s, 30 s at least). */
    sessionTimeoutSec?: number;
  } = {},
): Promise<CephService> {
  const nodes = options.nodes ?? DEFAULT_NODES;
  for (const name of nodes)
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name))
      throw new CephStartError(`Invalid Ceph node name "${name}": use a-z, 0-9 and "-"`);
  const installMs = await ensureCephPackages();
  const began = Date.now();
  sweepDeadOwners(tmpdir());
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  claimDir(dir);
  const layout = await planLayout(dir);
  const reconnect = options.evictedClientsReconnect ? RECONNECT_CONF : "";
  writeFileSync(layout.conf, `${renderConf(layout)}${reconnect}\n${options.extraConf ?? ""}\n`);
  const daemons = new Daemons(layout);
  const mounted: MountedNode[] = [];
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await Promise.all(mounted.splice(0).map((node) => unmountNode(layout, node)));
      await daemons.stopAll();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  // Last resort if the process exits without stop(): SIGKILL by pid (daemons also carry a
  // parent-death signal, so even a SIGKILLed test runner leaves none behind).
  const killNow = () =>
    killSyncAndRemove(
      [...mounted.flatMap((n) => [n.fusePid, n.nsPid]), ...daemons.list.map((d) => d.proc.pid)],
      dir,
    );
  // Owned like s3proxy and Kafka: stopped after the run, on failure, and on SIGINT/SIGTERM/SIGHUP.
  const release = own({ stop, kill: killNow });
  const accessKey = `TIERMV${crypto.randomUUID().replaceAll("-", "").slice(0, 14).toUpperCase()}`;
  const secretKey = crypto.randomUUID().replaceAll("-", "");
  let version = "";
  try {
    await bootstrapMon(layout, daemons);
    await startMgr(layout, daemons);
    await startOsd(layout, daemons);
    // Settled, not raced: a failure of one must not leave the other starting during teardown.
    const both = await Promise.allSettled([
      startMds(layout, daemons, { sessionTimeoutSec: options.sessionTimeoutSec }),
      startRgw(layout, daemons),
    ]);
    for (const result of both) if (result.status === "rejected") throw result.reason;
    await createRgwUser(layout, { accessKey, secretKey });
    for (const name of nodes) mounted.push(await mountNode(layout, name));
    await assertLoopbackOnly([
      ...daemons.list.map((d) => d.proc.pid),
      ...mounted.map((n) => n.fusePid),
    ]);
    version = (await run(["ceph", "--version"])).trim();
  } catch (err) {
    await release();
    if (err instanceof CephStartError) throw err;
    throw new CephStartError(`Ceph did not start: ${(err as Error).message}`, { cause: err });
  }
  const info: CephInfo = {
    endpoint: `http://127.0.0.1:${layout.rgwPort}`,
    accessKey,
    secretKey,
    region: "us-east-1",
    mount: layout.mount,
    dir,
    conf: layout.conf,
    version,
    nodes: mounted.map(({ name, nsPid, fusePid }) => ({ name, nsPid, fusePid })),
    daemons: daemons.list.map(({ name, proc }) => ({ name, pid: proc.pid })),
  };
  return { ...attachCeph(info), startMs: Date.now() - began, installMs, stop: release };
}
