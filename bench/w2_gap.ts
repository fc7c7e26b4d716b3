/**
 * The W2/128 MiB gap (issue 2.5): tiermv's configurations against rclone-tuned on files below
 * rclone's single-PUT cutoff, through the delay proxy at 0 ms (no delay; its counters give the
 * mean number of requests in flight). Variants isolate one cause each:
 *   tiermv                defaults (multipart from 16 MiB, 8 MiB parts, 4 parts x 8 files)
 *   tiermv-tuned          single PUTs up to 200 MiB, 32 files, 64 MiB byte budget
 *   tiermv-tuned-budget   the same with a 1 GiB byte budget (a 128 MiB body no longer runs alone)
 *   tiermv-mp16           multipart with rclone's chunking: 16 MiB parts, 8 at a time, 32 files
 * Usage: bun bench/w2_gap.ts [--rounds 3] [--backend filesystem-nio2] [--workload W2-128]
 */
import { join } from "node:path";
import { type S3proxyBackend, startS3proxy } from "../test/services/s3proxy.ts";
import { flagValue, WORK } from "./cli_args.ts";
import { startDelayProxy } from "./delay_proxy.ts";
import { median } from "./measure.ts";
import { fmt } from "./report.ts";
import { BENCH_JVM, countObjects, freshBucket } from "./store.ts";
import { runTool, type Tool } from "./tools.ts";
import { stripTiermvXattrs } from "./transfer.ts";
import { workloads } from "./workloads.ts";

const flag = flagValue;
const rounds = Number(flag("--rounds") ?? 3);
const backend = (flag("--backend") ?? "filesystem-nio2") as S3proxyBackend;
const MiB = 1024 * 1024;

const VARIANTS: { label: string; tool: Tool; config?: Record<string, unknown> }[] = [
  { label: "rclone-tuned", tool: "rclone-tuned" },
  { label: "tiermv", tool: "tiermv" },
  { label: "tiermv-tuned", tool: "tiermv-tuned" },
  {
    label: "tiermv-tuned-budget",
    tool: "tiermv-tuned",
    config: { s3: { maxBufferBytes: 1024 * MiB } },
  },
  {
    label: "tiermv-mp16",
    tool: "tiermv",
    config: {
      s3: { partSize: 16 * MiB, partConcurrency: 8, maxBufferBytes: 128 * MiB },
      migrate: { concurrency: 32 },
    },
  },
];

const [w] = workloads(WORK, [flag("--workload") ?? "W2-128"]);
if (!w) throw new Error("no workload");
const dataDir = join(WORK, `s3data-gap-${backend}`);
await using s3 = await startS3proxy({ backend, dataDir, jvmFlags: BENCH_JVM });
await using proxy = await startDelayProxy(s3.port, 0);
const results = new Map<
  string,
  { mibs: number; rss: number; cpu: number; server: number; inFlight: number }[]
>();
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < VARIANTS.length; i++) {
    const v = VARIANTS[(i + round) % VARIANTS.length] as (typeof VARIANTS)[number];
    if (v.tool.startsWith("tiermv")) await stripTiermvXattrs(w.dir);
    const bucket = await freshBucket(s3.endpoint);
    await proxy.reset();
    const spec = {
      tool: v.tool,
      workload: w,
      endpoint: proxy.endpoint,
      bucket,
      dir: join(WORK, "gap-run"),
    };
    const m = await runTool({ ...spec, serverPid: s3.pid, tiermvConfig: v.config });
    const stats = await proxy.stats();
    const stored = await countObjects(s3.endpoint, bucket);
    if (stored !== w.files) throw new Error(`${v.label}: ${stored} of ${w.files} objects`);
    const row = {
      mibs: w.bytes / MiB / m.wall,
      rss: m.rssMiB,
      cpu: m.cpu,
      server: m.serverCpu,
      inFlight: stats.meanInFlight,
    };
    results.set(v.label, [...(results.get(v.label) ?? []), row]);
    console.log(
      `round ${round + 1} ${v.label.padEnd(20)} ${fmt(row.mibs)} MiB/s rss ${fmt(row.rss, 0)} cpu ${fmt(row.cpu)} server ${fmt(row.server)} in flight ${fmt(row.inFlight, 2)}`,
    );
    Bun.spawnSync(["rm", "-rf", join(dataDir, bucket)]);
  }
}
const rclone = median((results.get("rclone-tuned") ?? []).map((r) => r.mibs));
console.log(`\n### ${w.name} (${w.description}) on s3proxy ${backend}, median of ${rounds}\n`);
console.log(
  "| variant | MiB/s | vs rclone-tuned | requests in flight (mean) | peak RSS | CPU s | server CPU s |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [label, rows] of results) {
  const med = (k: keyof (typeof rows)[number]) => median(rows.map((r) => r[k]));
  console.log(
    `| ${label} | ${fmt(med("mibs"))} | ${fmt(med("mibs") / rclone, 2)}x | ${fmt(med("inFlight"), 2)} | ${fmt(med("rss"), 0)} MiB | ${fmt(med("cpu"))} | ${fmt(med("server"))} |`,
  );
}
