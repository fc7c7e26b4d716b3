/**
 * The cluster's layout in its temp dir and its ceph.conf. Every path a daemon or client writes
 * (data, keyrings, admin sockets, logs, crash reports) is under the temp dir, and every daemon
 * binds to 127.0.0.1 within a port window that was free at start, so two clusters on one host
 * never share a file or a port.
 */
import { createServer } from "node:net";
import { join } from "node:path";

export interface CephLayout {
  dir: string;
  conf: string;
  fsid: string;
  monV1: number;
  monV2: number;
  rgwPort: number;
  /** Window for mgr, OSD, MDS and client messengers (`ms bind port min/max`). */
  bindMin: number;
  bindMax: number;
  mount: string;
}

/** Ports each daemon may take from the window: OSD ~8, MDS 2, mgr 2, with room to spare. */
const WINDOW = 48;

export async function planLayout(dir: string): Promise<CephLayout> {
  const bindMin = await freeWindow(WINDOW + 3);
  return {
    dir,
    conf: join(dir, "ceph.conf"),
    fsid: crypto.randomUUID(),
    monV1: bindMin + WINDOW,
    monV2: bindMin + WINDOW + 1,
    rgwPort: bindMin + WINDOW + 2,
    bindMin,
    bindMax: bindMin + WINDOW - 1,
    mount: join(dir, "mnt"),
  };
}

export function renderConf(l: CephLayout): string {
  const d = l.dir;
  return `[global]
fsid = ${l.fsid}
mon host = [v2:127.0.0.1:${l.monV2},v1:127.0.0.1:${l.monV1}]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
ms bind ipv4 = true
ms bind ipv6 = false
ms bind port min = ${l.bindMin}
ms bind port max = ${l.bindMax}
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = ${d}/keyring/$name.keyring
run dir = ${d}/run
crash dir = ${d}/crash
log file = ${d}/log/$name.log
log to stderr = false
err to stderr = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false

[mon]
mon data = ${d}/mon/$id
keyring = $mon_data/keyring
mon cluster log file = ${d}/log/cluster.log
mon memory target = 268435456
mon data avail warn = 2

[mgr]
mgr data = ${d}/mgr/$id

[osd]
osd data = ${d}/osd/$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 21474836480
bluestore fsck on mkfs = false
osd memory target = 939524096

[mds]
mds data = ${d}/mds/$id
mds cache memory limit = 268435456

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${l.rgwPort}
rgw data = ${d}/rgw
`;
}

/** A window of consecutive ports that are all free on 127.0.0.1 right now. */
async function freeWindow(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let port = base; port < base + size && ok; port++) ok = await portFree(port);
    if (ok) return base;
  }
  throw new Error(`No window of ${size} free loopback ports found`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
