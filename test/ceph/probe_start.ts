/**
 * docs/ceph.md, "Start-up and footprint": starts the suite's cluster (installing the packages
 * when missing), reports start-up time, resident memory per daemon and client after start and
 * after a small workload (1000 files through node-a, 50 objects through RGW), CPU used while idle,
 * what listens, how long stop takes and what is left after it.
 *
 *   bun test/ceph/probe_start.ts
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SUITE_CEPH_OPTIONS, startCeph } from "../services/ceph.ts";

const began = Date.now();
const ceph = await startCeph(SUITE_CEPH_OPTIONS);
console.log(`${ceph.version}`);
console.log(
  `package install: ${ceph.installMs} ms; cluster start: ${ceph.startMs} ms; startCeph() returned after ${Date.now() - began} ms`,
);
const pids = [
  ...ceph.daemons.map((d) => ({ name: d.name, pid: d.pid })),
  ...ceph.nodes.map((n) => ({ name: `ceph-fuse ${n.name}`, pid: n.fusePid })),
];
const rssMiB = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return Math.round(Number(line?.[1] ?? 0) / 1024);
};
const cpuTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};
try {
  const afterStart = pids.map((p) => rssMiB(p.pid));
  const bench = join(import.meta.dir, "metadata_bench.ts");
  const dir = join(ceph.mount, "footprint");
  await ceph.exec("node-a", ["mkdir", dir]);
  const run = await ceph.exec("node-a", [process.execPath, bench, dir, "1000"]);
  if (run.code !== 0) throw new Error(run.stderr);
  const s3 = ceph.s3Client();
  const bucket = await ceph.createBucket();
  for (let i = 0; i < 50; i++)
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `o${i}`, Body: new Uint8Array(256 * 1024) }),
    );
  s3.destroy();
  const afterWork = pids.map((p) => rssMiB(p.pid));
  const idleFrom = pids.map((p) => cpuTicks(p.pid));
  const idleMs = 30_000;
  await Bun.sleep(idleMs);
  const idleCpu = pids.map(
    (p, i) => (((cpuTicks(p.pid) - (idleFrom[i] ?? 0)) * 10) / idleMs) * 100,
  );
  console.log(
    "| process | RSS after start (MiB) | RSS after workload (MiB) | CPU while idle (% of one core, 30 s) |",
  );
  console.log("|---|---|---|---|");
  for (const [i, p] of pids.entries())
    console.log(`| ${p.name} | ${afterStart[i]} | ${afterWork[i]} | ${idleCpu[i]?.toFixed(1)} |`);
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(
    `| total | ${total(afterStart)} | ${total(afterWork)} | ${total(idleCpu).toFixed(1)} |`,
  );
  const ours = new Set(pids.map((p) => p.pid));
  const listening = Bun.spawnSync(["ss", "-H", "-ltnp"])
    .stdout.toString()
    .split("\n")
    .filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => ours.has(Number(m[1]))));
  const addresses = listening.map((l) => l.split(/\s+/)[3] ?? "");
  console.log(
    `listening sockets: ${addresses.length}, all on 127.0.0.1: ${addresses.every((a) => a.startsWith("127.0.0.1:"))}`,
  );
} finally {
  const t = Date.now();
  await ceph.stop();
  console.log(`stop: ${Date.now() - t} ms`);
  const left = Bun.spawnSync([
    "sh",
    "-c",
    "ps -eo pid,args | grep -E 'ceph-(mon|mgr|osd|mds|fuse)|radosgw' | grep -v grep",
  ]).stdout.toString();
  console.log(`processes left after stop: ${left.trim() === "" ? "none" : left}`);
}
