/**
 * Where `tiermv restore`'s memory goes (issue 2.6's RSS goal): one workload (default W2-256)
 * migrated once into a fresh s3proxy, then each round releases it and restores it with
 * bench/mem_probe.ts preloaded, which samples RSS, the JS heap, external memory and array
 * buffers every 50 ms. Prints, per round, the wall, the peak RSS (the kernel's VmHWM through GNU
 * time, and the probe's), and the probe's fields at the peak and at their own maxima.
 * Usage: bun bench/restore_rss.ts [WORKLOAD] [--rounds 2] [--tiermv DIR] [--set '{"migrate":{...}}'] [--env NAME=VALUE]...
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startS3proxy } from "../test/services/s3proxy.ts";
import { measure, TIERMV, TIERMV_HEAP } from "./measure.ts";
import { BENCH_JVM, freshBucket } from "./store.ts";
import { type RunSpec, tiermvConfig, tiermvEnv } from "./tools.ts";
import { stripTiermvXattrs } from "./transfer.ts";
import { workloads } from "./workloads.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const name = argv[0] && !argv[0].startsWith("--") ? argv[0] : "W2-256";
const rounds = Number(flag("--rounds") ?? 2);
const checkout = flag("--tiermv") ?? new URL("..", import.meta.url).pathname;
const extra = JSON.parse(flag("--set") ?? "{}") as Record<string, object>;
/** Extra environment for the restore only (JSC options: BUN_JSC_...=...). */
const extraEnv = Object.fromEntries(
  argv.flatMap((a, i) => (argv[i - 1] === "--env" ? [a.split("=", 2) as [string, string]] : [])),
);
const WORK = new URL("./work", import.meta.url).pathname;
const [w] = workloads(join(WORK, "tier"), [name]);
if (!w) throw new Error(`no workload ${name}`);

type Sample = Record<string, number>;
const probe = new URL("./mem_probe.ts", import.meta.url).pathname;

const s3 = await startS3proxy({ dataDir: join(WORK, "s3data-restore-rss"), jvmFlags: BENCH_JVM });
try {
  await stripTiermvXattrs(w.dir);
  const dir = join(WORK, "restore-rss");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const bucket = await freshBucket(s3.endpoint);
  const spec: RunSpec = {
    tool: "tiermv-tuned",
    workload: w,
    endpoint: s3.endpoint,
    bucket,
    dir,
    serverPid: s3.pid,
    tiermvConfig: {
      ...extra,
      migrate: { concurrency: 32, ...extra.migrate },
      s3: { releaseUnversioned: true, ...extra.s3 },
    },
  };
  const env = tiermvEnv(tiermvConfig(spec), dir);
  const run = (args: string[]) => measure([TIERMV, ...args], env, s3.pid);
  await measure(["sh", "-c", `${TIERMV} submit --node a --quiet ${w.dir} > /dev/null`], env);
  await run(["run", "--node", "a", "--once", "--quiet"]);
  const bun = join(checkout, "node_modules/.bin/bun");
  const main = join(checkout, "cli/main.ts");
  for (let r = 0; r < rounds; r++) {
    await run(["release", "--node", "a", "--json", w.dir]);
    const out = join(dir, `probe-${r}.jsonl`);
    rmSync(out, { force: true });
    const probed = { ...env, MEM_PROBE_OUT: out, ...TIERMV_HEAP, ...extraEnv };
    const m = await measure(
      [bun, "--preload", probe, main, "restore", "--node", "a", "--json", w.dir],
      probed,
      s3.pid,
    );
    const last = m.stdout.trim().split("\n").at(-1);
    const samples = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Sample);
    const peak = samples.reduce((a, b) => ((b.rss ?? 0) > (a.rss ?? 0) ? b : a));
    const fields = Object.keys(peak).filter((k) => k !== "t" && k !== "objects");
    const max = (k: string) => Math.max(...samples.map((s) => s[k] ?? 0));
    const at = fields.map((k) => `${k} ${(peak[k] ?? 0).toFixed(0)}`).join(", ");
    const maxima = fields.map((k) => `${k} ${max(k).toFixed(0)}`).join(", ");
    console.log(
      `round ${r + 1}: ${m.wall.toFixed(1)} s, CPU ${m.cpu.toFixed(1)} s, VmHWM ${m.rssMiB.toFixed(0)} MiB\n  at the peak (${peak.t} ms): ${at}\n  maxima: ${maxima}\n  ${last}`,
    );
  }
} finally {
  await s3.stop();
}
