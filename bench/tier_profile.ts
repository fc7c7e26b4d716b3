/**
 * Where release's and restore's time goes: `files` files of 64 KiB (or `--large`: 4 x 256 MiB)
 * migrated once to s3proxy, then released and restored, each run measured one way:
 *   (default)   Bun's sampling profiler (`--cpu-prof-md`): bench/work/tier-profile/<action>-<round>.md
 *   --threads   each thread's CPU time by name (main `bun`, the mount's `Worker`s, `JITWorker`,
 *               `HTTP Client`, ...), sampled from /proc every 50 ms, printed
 *   --strace    strace -f -tt -T of the file's data calls (fsync, pwrite, pread), to see where a
 *               restore waits: bench/work/tier-profile/<action>-<round>.strace
 *   --syscalls  strace -f -c: every system call of the run counted, by name, with its time:
 *               bench/work/tier-profile/<action>-<round>.syscalls
 *   --perf      perf record -g of the whole process (every thread, the kernel too; JSC's JIT
 *               code shows as unnamed addresses): bench/work/tier-profile/<action>-<round>.perf
 *               (read it with `perf report -i FILE --sort comm,dso,sym`)
 *   --no-prof   the wall alone
 * --tiermv DIR runs DIR/cli/main.ts (a snapshot of a checkout, its node_modules linked);
 * --env K=V (repeatable) adds to the runs' environment (JSC options, say). What the runs print
 * on stderr is shown.
 * Usage: bun bench/tier_profile.ts [files=5000] [--large] [--rounds 1] [--tiermv DIR]
 *   [--threads | --strace | --syscalls | --perf | --no-prof] [--env K=V]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDebianTools } from "./debian_tools.ts";
import { initSpool, TIERMV, TIERMV_HEAP } from "./measure.ts";
import { fmt } from "./report.ts";
import { countObjects, freshBucket, withStore } from "./store.ts";
import { tiermvEnv } from "./tools.ts";

const REPO = new URL("..", import.meta.url).pathname;
const WORK = join(REPO, "bench/work/tier-profile");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const large = argv.includes("--large");
/** A bare number that is no flag's value: the number of small files. */
const VALUED = ["--rounds", "--tiermv", "--env"];
const positional = argv.find((a, i) => /^\d+$/.test(a) && !VALUED.includes(argv[i - 1] ?? ""));
const files = large ? 4 : Number(positional ?? 5000);
const size = large ? 256 * 1024 * 1024 : 64 * 1024;
const rounds = Number(flag("--rounds") ?? 1);
const checkout = flag("--tiermv") ?? REPO;
const mode = argv.includes("--threads")
  ? "threads"
  : argv.includes("--strace")
    ? "strace"
    : argv.includes("--syscalls")
      ? "syscalls"
      : argv.includes("--perf")
        ? "perf"
        : argv.includes("--no-prof")
          ? "wall"
          : "profile";
const extraEnv = Object.fromEntries(
  argv.flatMap((a, i) =>
    argv[i - 1] === "--env" ? [[a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]] : [],
  ),
);
if (mode === "strace" || mode === "syscalls") ensureDebianTools(["strace"]);

/** CPU seconds of each live thread of `pid`, by thread id (name, user, system). */
function threadTimes(pid: number, into: Map<string, [string, number, number]>): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // it has exited
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      into.set(tid, [name, Number(fields[11]) / 100, Number(fields[12]) / 100]);
    } catch {
      // the thread ended between the listing and the read: its last sample stands
    }
  }
}

async function run(
  label: string,
  cmd: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { env, stdout: "ignore", stderr: "pipe" });
  const seen = new Map<string, [string, number, number]>();
  const sampler =
    mode === "threads" ? setInterval(() => threadTimes(proc.pid, seen), 50) : undefined;
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${cmd.join(" ")}: exit ${code}: ${stderr}`);
  process.stderr.write(stderr);
  if (mode === "threads") {
    const byName = new Map<string, [number, number]>();
    for (const [name, user, sys] of seen.values()) {
      const [u, k] = byName.get(name) ?? [0, 0];
      byName.set(name, [u + user, k + sys]);
    }
    console.log(`${label}: CPU by thread (user + system)`);
    const rows = [...byName]
      .filter(([, [u, k]]) => u + k > 0)
      .sort((a, b) => b[1][0] + b[1][1] - a[1][0] - a[1][1]);
    for (const [name, [u, k]] of rows) console.log(`  ${fmt(u, 2)} + ${fmt(k, 2)} s  ${name}`);
    const all = rows.reduce((sum, [, [u, k]]) => sum + u + k, 0);
    console.log(`  ${fmt(all, 2)} s  all threads`);
  }
  return (performance.now() - t0) / 1000;
}

await withStore("filesystem", join(REPO, "bench/work"), async (store) => {
  rmSync(WORK, { recursive: true, force: true });
  const root = join(WORK, "root");
  mkdirSync(root, { recursive: true });
  const body = new Uint8Array(size).map((_, i) => (i * 7) % 251);
  for (let i = 0; i < files; i++) writeFileSync(join(root, `f${i}`), body);
  const bucket = await freshBucket(store.direct);
  const doc = {
    spool: join(WORK, "spool"),
    root,
    target: `s3://${bucket}/prof`,
    nodes: ["a"],
    migrate: { concurrency: 32 },
    s3: { endpoint: store.direct, releaseUnversioned: true },
  };
  const configPath = join(WORK, "config.json");
  writeFileSync(configPath, JSON.stringify(doc));
  initSpool(configPath);
  const env = tiermvEnv(configPath, WORK);
  await run("submit", [TIERMV, "submit", "--node", "a", "--quiet", root], env);
  await run("run --once", [TIERMV, "run", "--node", "a", "--once", "--quiet"], env);
  const stored = await countObjects(store.direct, bucket);
  if (stored !== files) throw new Error(`${stored} of ${files} objects stored`);
  const bun = join(REPO, "node_modules/.bin/bun");
  const cli = join(checkout, "cli/main.ts");
  const runEnv = {
    ...env,
    ...TIERMV_HEAP,
    ...extraEnv,
  };
  for (let r = 1; r <= rounds; r++)
    for (const action of ["release", "restore"]) {
      const out = join(WORK, `${action}-${r}`);
      const wrap =
        mode === "perf"
          ? ["perf", "record", "-F", "999", "-g", "-o", `${out}.perf`, "--"]
          : mode === "strace"
            ? [
                "strace",
                "-f",
                "-tt",
                "-T",
                "-e",
                "trace=fsync,pwrite64,pread64",
                "-o",
                `${out}.strace`,
              ]
            : mode === "syscalls"
              ? ["strace", "-f", "-c", "-o", `${out}.syscalls`]
              : [];
      const profile =
        mode === "profile"
          ? ["--cpu-prof-md", `--cpu-prof-dir=${WORK}`, `--cpu-prof-name=${action}-${r}.md`]
          : [];
      const args = [action, "--node", "a", "--quiet", root];
      const wall = await run(action, [...wrap, bun, ...profile, cli, ...args], runEnv);
      const wrote =
        mode === "profile" || mode === "strace" || mode === "perf" || mode === "syscalls"
          ? `, ${out}.${{ profile: "md", strace: "strace", perf: "perf", syscalls: "syscalls" }[mode]}`
          : "";
      console.log(`${action} round ${r}: ${fmt(wall, 2)} s${wrote}`);
    }
});
