/**
 * Release's cost per file in calls, for `files` files of 64 KiB migrated once: the system calls
 * on the source tree (`strace -f -y` of a `tiermv release` process, counted by family as
 * bench/syscalls.ts does) and the hand-offs with the mount's threads (MountStatus.handoffs of a
 * release run in this process): one file at a time, where each hand-off is one call of the
 * pool (a compound call counts once), and 32 at a time, where a busy pool batches queued calls.
 * A third of the files each. Counts, not times: they do not depend on the load.
 * Usage: bun bench/release_calls.ts [files=300]
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../jobs/context/config.ts";
import { createJobContext, silentLog } from "../jobs/context/job_context.ts";
import { tierPaths } from "../jobs/tier.ts";
import { createRuntime } from "../runtime/bun.ts";
import { initSpool, TIERMV } from "./measure.ts";
import { fmt } from "./report.ts";
import { BENCH_ENV, countObjects, freshBucket, withStore } from "./store.ts";
import { countCalls, ensureStrace, traced } from "./syscalls.ts";
import { tiermvEnv } from "./tools.ts";

const REPO = new URL("..", import.meta.url).pathname;
const WORK = join(REPO, "bench/work/release-calls");
const files = Number(process.argv[2] ?? 300);
const third = files / 3;

function run(cmd: string[], env: Record<string, string | undefined>): void {
  const proc = Bun.spawnSync(cmd, { env, stdout: "ignore", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${proc.stderr.toString()}`);
}

ensureStrace();
await withStore("filesystem", join(REPO, "bench/work"), async (store) => {
  rmSync(WORK, { recursive: true, force: true });
  const root = join(WORK, "root");
  const body = new Uint8Array(64 * 1024).map((_, i) => i % 251);
  for (const part of ["traced", "one", "many"]) {
    mkdirSync(join(root, part), { recursive: true });
    for (let i = 0; i < third; i++) writeFileSync(join(root, part, `f${i}`), body);
  }
  const bucket = await freshBucket(store.direct);
  const spool = join(WORK, "spool");
  const doc = {
    spool,
    root,
    target: `s3://${bucket}/calls`,
    nodes: ["a"],
    s3: { endpoint: store.direct, releaseUnversioned: true },
  };
  const configPath = join(WORK, "config.json");
  writeFileSync(configPath, JSON.stringify(doc));
  initSpool(configPath);
  const env = tiermvEnv(configPath, WORK);
  run([TIERMV, "submit", "--node", "a", "--quiet", root], env);
  run([TIERMV, "run", "--node", "a", "--once", "--quiet"], env);
  const stored = await countObjects(store.direct, bucket);
  if (stored !== files) throw new Error(`${stored} of ${files} objects stored`);

  const log = await traced(
    [TIERMV, "release", "--node", "a", "--quiet", join(root, "traced")],
    env,
    join(WORK, "release.strace"),
  );
  const calls = countCalls(log, root, spool);

  for (const [k, v] of Object.entries(BENCH_ENV)) if (v !== undefined) process.env[k] = v;
  const rt = createRuntime();
  const parsed = JSON.parse(readFileSync(configPath, "utf8"));
  /** Hand-offs per file of an in-process release of `part`, `concurrency` files at once. */
  const release = async (part: string, concurrency: number) => {
    const doc = { ...parsed, migrate: { concurrency } };
    const ctx = createJobContext(rt, parseConfig(doc, configPath), silentLog);
    const before = rt.mountStatus().handoffs;
    const summary = await tierPaths(ctx, "a", "release", [join(root, part)]);
    if (summary.counts.released !== third)
      throw new Error(`released ${summary.counts.released} of ${third}`);
    const handoffs = (rt.mountStatus().handoffs - before) / third;
    return handoffs;
  };
  const one = await release("one", 1);
  const many = await release("many", 32);

  const per = (n: number | undefined) => fmt((n ?? 0) / third, 2);
  const families = Object.keys(calls.all).filter((f) => (calls.source[f] ?? 0) > 0);
  const total = families.reduce((sum, f) => sum + (calls.source[f] ?? 0), 0);
  console.log(`release of ${third} files of 64 KiB each way, migrated once (${REPO})`);
  console.log(`hand-offs per file, 1 at a time: ${fmt(one, 2)}`);
  console.log(`hand-offs per file, 32 at a time: ${fmt(many, 2)}`);
  console.log("system calls per file on the source tree (strace -f -y of tiermv release):");
  for (const f of families) console.log(`  ${f}: ${per(calls.source[f])}`);
  console.log(`  total: ${per(total)}`);
});
