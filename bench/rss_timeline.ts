/**
 * Peak RSS of `tiermv run` over time on one workload (the analysis of W2's memory): a fresh
 * s3proxy (filesystem backend), tiermv's defaults or `--set` JSON over them, `submit` then
 * `run --once`, the run process's RSS (VmRSS) sampled every 50 ms. Prints the timeline in
 * `--step` buckets (max RSS in each) and the peak, one line per config.
 * Usage: bun bench/rss_timeline.ts WORKLOAD [--set '{"s3":{...}}']... [--step 1]
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startS3proxy } from "../test/services/s3proxy.ts";
import { TIERMV } from "./measure.ts";
import { BENCH_JVM, freshBucket } from "./store.ts";
import { commandOf, tiermvConfig, tiermvEnv } from "./tools.ts";
import { stripTiermvXattrs } from "./transfer.ts";
import { workloads } from "./workloads.ts";

const argv = process.argv.slice(2);
const name = argv[0] ?? "W2-128";
const sets = argv.flatMap((a, i) => (argv[i - 1] === "--set" ? [JSON.parse(a)] : []));
const stepIndex = argv.indexOf("--step");
const step = stepIndex >= 0 ? Number(argv[stepIndex + 1]) : 1;
const WORK = new URL("./work", import.meta.url).pathname;
const [w] = workloads(WORK, [name]);
if (!w) throw new Error(`no workload ${name}`);

const rssOf = (pid: number) => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
};

const s3 = await startS3proxy({ dataDir: join(WORK, "s3data-rss"), jvmFlags: BENCH_JVM });
try {
  for (const extra of sets.length > 0 ? sets : [{}]) {
    await stripTiermvXattrs(w.dir);
    const dir = join(WORK, "rss-run");
    const bucket = await freshBucket(s3.endpoint);
    const spec = { tool: "tiermv" as const, workload: w, endpoint: s3.endpoint, bucket, dir };
    commandOf(spec); // fresh dir
    mkdirSync(dir, { recursive: true });
    const config = tiermvConfig({ ...spec, tiermvConfig: extra });
    const env = tiermvEnv(config, dir) as Record<string, string>;
    Bun.spawnSync([TIERMV, "submit", "--node", "a", "--quiet", w.dir], { env });
    const began = performance.now();
    const proc = Bun.spawn([TIERMV, "run", "--node", "a", "--once", "--quiet"], { env });
    const samples: [number, number][] = [];
    const timer = setInterval(() => samples.push([performance.now() - began, rssOf(proc.pid)]), 50);
    await proc.exited;
    clearInterval(timer);
    const seconds = (performance.now() - began) / 1000;
    const buckets: number[] = [];
    for (const [t, rss] of samples) {
      const i = Math.floor(t / 1000 / step);
      buckets[i] = Math.max(buckets[i] ?? 0, rss);
    }
    const peak = Math.max(...samples.map(([, r]) => r));
    const mibs = w.bytes / 2 ** 20 / seconds;
    console.log(
      `${JSON.stringify(extra)}: ${seconds.toFixed(1)} s, ${mibs.toFixed(1)} MiB/s, peak ${peak.toFixed(0)} MiB; per ${step} s: ${buckets.map((b) => (b ?? 0).toFixed(0)).join(" ")}`,
    );
  }
} finally {
  await s3.stop();
}
