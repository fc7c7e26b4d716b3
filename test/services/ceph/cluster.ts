/**
 * Bootstraps the single-host cluster by hand (no cephadm): mon, mgr, one bluestore OSD on a
 * sparse file, MDS with a CephFS filesystem, and radosgw. Daemons run in the foreground as our
 * own children, so they are known by pid and stopped by pid.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CephLayout } from "./conf.ts";
import { ceph, cephEnv, cephJson, type Daemons } from "./daemons.ts";
import { CephStartError, run, waitFor } from "./proc.ts";

export const FS_NAME = "tiermv";

export async function bootstrapMon(layout: CephLayout, daemons: Daemons): Promise<void> {
  const { dir, conf } = layout;
  for (const sub of [
    "keyring",
    "run",
    "crash",
    "log",
    "mon/a",
    "mgr/x",
    "osd/0",
    "mds/a",
    "rgw",
    "mnt",
  ])
    mkdirSync(join(dir, sub), { recursive: true });
  const env = cephEnv(layout);
  const monKeyring = join(dir, "keyring", "mon.keyring");
  const adminKeyring = join(dir, "keyring", "client.admin.keyring");
  await run(
    [
      "ceph-authtool",
      "--create-keyring",
      monKeyring,
      "--gen-key",
      "-n",
      "mon.",
      "--cap",
      "mon",
      "allow *",
    ],
    { env },
  );
  await run(
    [
      "ceph-authtool",
      "--create-keyring",
      adminKeyring,
      "--gen-key",
      "-n",
      "client.admin",
      ...["--cap", "mon", "allow *", "--cap", "osd", "allow *"],
      ...["--cap", "mds", "allow *", "--cap", "mgr", "allow *"],
    ],
    { env },
  );
  await run(["ceph-authtool", monKeyring, "--import-keyring", adminKeyring], { env });
  const monmap = join(dir, "monmap");
  const addrs = `[v2:127.0.0.1:${layout.monV2},v1:127.0.0.1:${layout.monV1}]`;
  await run(["monmaptool", "--create", "--fsid", layout.fsid, "--addv", "a", addrs, monmap], {
    env,
  });
  await run(
    ["ceph-mon", "-c", conf, "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", monKeyring],
    { env },
  );
  daemons.start("mon.a", ["ceph-mon", "-f", "-c", conf, "-i", "a"]);
  await waitFor(
    "ceph-mon",
    async () => {
      daemons.assertRunning();
      await ceph(layout, ["mon", "stat"], { timeoutMs: 10_000 });
      return true;
    },
    { timeoutMs: 60_000 },
  );
}

export async function startMgr(layout: CephLayout, daemons: Daemons): Promise<void> {
  const keyring = join(layout.dir, "keyring", "mgr.x.keyring");
  await ceph(layout, [
    "auth",
    "get-or-create",
    "mgr.x",
    "mon",
    "allow profile mgr",
    "osd",
    "allow *",
    "mds",
    "allow *",
    "-o",
    keyring,
  ]);
  daemons.start("mgr.x", ["ceph-mgr", "-f", "-c", layout.conf, "-i", "x"]);
}

export async function startOsd(layout: CephLayout, daemons: Daemons): Promise<void> {
  const uuid = crypto.randomUUID();
  const env = cephEnv(layout);
  const key = (await run(["ceph-authtool", "--gen-print-key"], { env })).trim();
  const secrets = join(layout.dir, "osd-secrets.json");
  writeFileSync(secrets, JSON.stringify({ cephx_secret: key }));
  const id = (await ceph(layout, ["osd", "new", uuid, "-i", secrets])).trim();
  if (id !== "0") throw new CephStartError(`ceph osd new returned id ${id}, expected 0`);
  const keyring = join(layout.dir, "keyring", "osd.0.keyring");
  await run(["ceph-authtool", "--create-keyring", keyring, "--name", "osd.0", "--add-key", key], {
    env,
  });
  await run(["ceph-osd", "-c", layout.conf, "-i", "0", "--mkfs", "--osd-uuid", uuid], {
    env,
    timeoutMs: 120_000,
  });
  daemons.start("osd.0", ["ceph-osd", "-f", "-c", layout.conf, "-i", "0"]);
  await waitFor(
    "ceph-osd",
    async () => {
      daemons.assertRunning();
      const stat = await cephJson<{ num_up_osds: number }>(layout, ["osd", "stat"]);
      return stat.num_up_osds === 1 ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );
}

/** Starts the MDS and creates the filesystem; `sessionTimeoutSec` sets its session_timeout. */
export async function startMds(
  layout: CephLayout,
  daemons: Daemons,
  { sessionTimeoutSec }: { sessionTimeoutSec?: number } = {},
): Promise<void> {
  const keyring = join(layout.dir, "keyring", "mds.a.keyring");
  await ceph(layout, [
    "auth",
    "get-or-create",
    "mds.a",
    "mon",
    "profile mds",
    "mgr",
    "profile mds",
    "mds",
    "allow *",
    "osd",
    "allow *",
    "-o",
    keyring,
  ]);
  daemons.start("mds.a", ["ceph-mds", "-f", "-c", layout.conf, "-i", "a"]);
  await ceph(layout, ["osd", "pool", "create", `${FS_NAME}_metadata`, "8", "8"]);
  await ceph(layout, ["osd", "pool", "create", `${FS_NAME}_data`, "8", "8"]);
  await ceph(layout, ["fs", "new", FS_NAME, `${FS_NAME}_metadata`, `${FS_NAME}_data`]);
  if (sessionTimeoutSec !== undefined)
    await ceph(layout, ["fs", "set", FS_NAME, "session_timeout", String(sessionTimeoutSec)]);
  await waitFor(
    "ceph-mds (up:active)",
    async () => {
      daemons.assertRunning();
      const dump = await cephJson<{
        filesystems: { mdsmap: { info: Record<string, { state: string }> } }[];
      }>(layout, ["fs", "dump"]);
      const infos = Object.values(dump.filesystems[0]?.mdsmap.info ?? {});
      return infos.some((i) => i.state === "up:active") ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );
}

export async function startRgw(layout: CephLayout, daemons: Daemons): Promise<void> {
  const keyring = join(layout.dir, "keyring", "client.rgw.a.keyring");
  await ceph(layout, [
    "auth",
    "get-or-create",
    "client.rgw.a",
    "mon",
    "allow rw",
    "osd",
    "allow rwx",
    "mgr",
    "allow rw",
    "-o",
    keyring,
  ]);
  daemons.start("rgw.a", ["radosgw", "-f", "-c", layout.conf, "-n", "client.rgw.a"]);
  await waitFor(
    "radosgw",
    async () => {
      daemons.assertRunning();
      const res = await fetch(`http://127.0.0.1:${layout.rgwPort}/`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      return res.status === 200 ? true : undefined;
    },
    { timeoutMs: 180_000 },
  );
}

/** An RGW user with the given S3 keys (radosgw-admin talks to RADOS, not to radosgw). */
export async function createRgwUser(
  layout: CephLayout,
  { accessKey, secretKey }: { accessKey: string; secretKey: string },
): Promise<void> {
  await run(
    [
      "radosgw-admin",
      "-c",
      layout.conf,
      "-n",
      "client.admin",
      "user",
      "create",
      "--uid",
      "tiermv",
      "--display-name",
      "tiermv test",
      "--access-key",
      accessKey,
      "--secret-key",
      secretKey,
    ],
    { env: cephEnv(layout), timeoutMs: 60_000 },
  );
}
