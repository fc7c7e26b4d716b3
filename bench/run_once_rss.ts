/**
 * Memory of `run --once` draining many tasks (issue 2.5: does it grow per task?): bench/million's
 * tree of N 100-byte files (500 per task), `submit`, then `run --once` under bench/mem_probe.ts
 * with JSC's object-type counts every
 * `--types` ms if asked. Prints RSS / JS heap / object count per `--step`
 * seconds, and the object types that grew most from the first count to the last.
 * `--plain`: bin/tiermv under GNU time instead, peak only.
 * Usage: bun bench/run_once_rss.ts [--files 100000] [--step 10] [--types 10000] [--per-task 500] [--plain]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileTargetConfig, measure, TIERMV, TIERMV_HEAP, withProjectBun } from "./measure.ts";
import { buildTree } from "./million.ts";
import { BENCH_ENV } from "./store.ts";
import { stripTiermvXattrs } from "./transfer.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const files = arg("--files", 100_000);
const step = arg("--step", 10);
/** Object-type counts (each after a full GC, which changes the RSS curve) every this many ms; 0: none. */
const types = arg("--types", 0);
/** Files per task (dispatch.maxFiles): fewer make as many tasks as a million files in less time. */
const perTask = arg("--per-task", 500);
const REPO = new URL("..", import.meta.url).pathname;
const base = join(REPO, "bench/work", `million-${files}`);
const src = buildTree(base, files);
const dirty = join(base, ".dirty");
if (existsSync(dirty)) {
  await stripTiermvXattrs(src);
  rmSync(dirty);
}
const dir = join(base, "run");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const config = fileTargetConfig(dir, {
  root: src,
  nodes: ["a"],
  extra: { dispatch: { maxFiles: perTask } },
});
const probeOut = join(dir, "probe.jsonl");
const env = withProjectBun({
  ...BENCH_ENV,
  ...TIERMV_HEAP,
  TIERMV_CONFIG: config,
  TIERMV_LOCK_DIR: dir,
  TIERMV_LOG: "json",
  // Allocator and heap settings to try (MIMALLOC_PURGE_DELAY=0, BUN_JSC_...) pass through.
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k.startsWith("MIMALLOC_") || k.startsWith("BUN_JSC_"),
    ),
  ),
});
writeFileSync(dirty, "");
const submit = Bun.spawnSync([TIERMV, "submit", "--node", "a", "--quiet", src], { env });
if (submit.exitCode !== 0) throw new Error(`submit failed: ${submit.stderr.toString()}`);
if (argv.includes("--plain")) {
  // tiermv as installed (bin/tiermv), no probe: the peak as GNU time sees it, like bench/million.
  const m = await measure([TIERMV, "run", "--node", "a", "--once", "--quiet"], env);
  console.log(`run --once (plain): ${m.wall.toFixed(1)} s, peak RSS ${m.rssMiB.toFixed(0)} MiB`);
  process.exit(0);
}
const began = performance.now();
const run = Bun.spawn(
  [
    process.execPath,
    "--preload",
    join(REPO, "bench/mem_probe.ts"),
    join(REPO, "cli/main.ts"),
    ...["run", "--node", "a", "--once", "--quiet"],
  ],
  { env: { ...env, MEM_PROBE_OUT: probeOut, MEM_PROBE_TYPES: String(types) }, stderr: "inherit" },
);
const code = await run.exited;
const seconds = (performance.now() - began) / 1000;
type Sample = {
  t: number;
  rss: number;
  heapUsed: number;
  objects: number;
  types?: Record<string, number>;
};
const samples = readFileSync(probeOut, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Sample);
const rows: string[] = [];
for (let from = 0; from * 1000 < (samples.at(-1)?.t ?? 0); from += step) {
  const inStep = samples.filter((s) => s.t >= from * 1000 && s.t < (from + step) * 1000);
  if (inStep.length === 0) continue;
  const max = (f: (s: Sample) => number) => Math.max(...inStep.map(f)).toFixed(0);
  rows.push(
    `${from}s rss ${max((s) => s.rss)} heap ${max((s) => s.heapUsed)} objs ${max((s) => s.objects)}`,
  );
}
console.log(
  `run --once: exit ${code}, ${seconds.toFixed(1)} s, ${(files / seconds).toFixed(0)} files/s`,
);
console.log(`peak RSS ${Math.max(...samples.map((s) => s.rss)).toFixed(0)} MiB`);
console.log(rows.join("\n"));
const counted = samples.filter((s) => s.types);
const first = counted[0]?.types ?? {};
const last = counted.at(-1)?.types ?? {};
const grown = Object.entries(last)
  .map(([type, n]) => [type, n - (first[type] ?? 0)] as const)
  .sort((a, b) => b[1] - a[1])
  .slice(0, 15);
console.log(`object types grown from t=${counted[0]?.t} to t=${counted.at(-1)?.t} ms:`);
for (const [type, n] of grown) console.log(`  ${type}: +${n} (now ${last[type]})`);
