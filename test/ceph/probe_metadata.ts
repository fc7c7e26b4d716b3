/**
 * docs/ceph.md, "Metadata operations": runs metadata_bench.ts with N files on local ext4, on
 * CephFS through node-a's client for files node-a created, and for files node-b created.
 *
 *   bun test/ceph/probe_metadata.ts [n=1000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCeph } from "../services/ceph.ts";

const n = process.argv[2] ?? "1000";
const BENCH = join(import.meta.dir, "metadata_bench.ts");

async function collect(proc: { stdout: ReadableStream<Uint8Array>; exited: Promise<number> }) {
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`bench failed: ${out}`);
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Record<
    string,
    { meanUs: number; p50Us: number; p99Us: number }
  >;
}

const local = mkdtempSync(join(tmpdir(), "tiermv-md-"));
const ext4 = await collect(
  Bun.spawn([process.execPath, BENCH, local, n], { stdout: "pipe", stderr: "inherit" }),
);
rmSync(local, { recursive: true, force: true });

const ceph = await startCeph({ nodes: ["node-a", "node-b"] });
try {
  const own = join(ceph.mount, "own");
  const foreign = join(ceph.mount, "foreign");
  await ceph.exec("node-a", ["mkdir", own, foreign]);
  const mine = await collect(
    ceph.spawn("node-a", [process.execPath, BENCH, own, n], { stdout: "pipe", stderr: "inherit" }),
  );
  const setup = await collect(
    ceph.spawn("node-b", [process.execPath, BENCH, foreign, n, "setup"], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const theirs = await collect(
    ceph.spawn("node-a", [process.execPath, BENCH, foreign, n, "bench"], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const fmt = (r?: { meanUs: number; p50Us: number; p99Us: number }) =>
    r ? `${r.meanUs} / ${r.p50Us} / ${r.p99Us}` : "";
  console.log(`N=${n} per operation; mean / p50 / p99 in µs; ${ceph.version}`);
  console.log(
    "| operation | ext4 (local) | CephFS, files this client created | CephFS, files another client created |",
  );
  console.log("|---|---|---|---|");
  for (const op of Object.keys(ext4)) {
    const other = op.startsWith("create") ? setup[op] : theirs[op];
    console.log(
      `| ${op} | ${fmt(ext4[op])} | ${fmt(mine[op])} | ${fmt(other)}${op.startsWith("create") ? " (node-b)" : ""} |`,
    );
  }
} finally {
  await ceph.stop();
}
