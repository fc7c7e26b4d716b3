/**
 * `bench/tier`: tiering (issue 2.6) on one s3proxy, in one run with the peers.
 *   restore  MiB/s of `tiermv restore` against the faster of aws-cli and rclone downloading the
 *            same objects, small files (5,000 x 64 KiB) and large (4 x 256 MiB); peak RSS
 *            (and a plain Bun GET loop, without and with an fsync per file: the runtime's own cost)
 *   release  files/s of `tiermv release` against a bare SDK HEAD loop over the same keys
 *   scan     `tiermv scan --dry-run` over 100,000 and 1,000,000 empty files: peak RSS
 * Medians of the rounds. A full run writes bench/results/<date>-tier.md; with --rounds or
 * --scan it writes bench/work/<date>-tier-partial.md.
 * --scan 0 skips the scan; --base DIR also runs DIR/bin/tiermv's release and restore (a checkout
 * of the code before a change, its node_modules linked), rows release-base and restore-base.
 * --tiermv DIR: the release and restore under test are DIR/bin/tiermv's (a snapshot of this
 * checkout, so editing it meanwhile changes nothing measured).
 * Usage: bun bench/tier.ts [--rounds 2] [--scan 1000000] [--base DIR] [--tiermv DIR] [--only W5-small,W2-256]
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureDebianTools } from "./debian_tools.ts";
import { median } from "./measure.ts";
import { fmt, LoadLog, machineLines, writeReport } from "./report.ts";
import { withStore } from "./store.ts";
import {
  CONCURRENCY,
  DOWNLOAD_PEERS,
  GET_LOOPS,
  type TierRows,
  tierRounds,
} from "./tier_rounds.ts";
import { scanLines, scanSizes } from "./tier_scan.ts";
import { stripTiermvXattrs } from "./transfer.ts";
import { type Workload, workloads } from "./workloads.ts";

const REPO = new URL("..", import.meta.url).pathname;
const WORK = join(REPO, "bench/work");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const rounds = Number(flag("--rounds") ?? 2);
const scanFiles = Number(flag("--scan") ?? 1_000_000);
const base = flag("--base") ? `${flag("--base")}/bin/tiermv` : undefined;
const only = flag("--only")?.split(",");
const bin = flag("--tiermv") ? `${flag("--tiermv")}/bin/tiermv` : undefined;
const partial = ["--rounds", "--scan", "--base", "--tiermv", "--only"].some((f) =>
  argv.includes(f),
);
const MiB = 1024 * 1024;
const NAMES = ["W5-small", "W2-256"];
/** The bytes each workload must hold: a run that died mid-release leaves stubs behind. */
const EXPECTED: Record<string, number> = { "W5-small": 5_000 * 64 * 1024, "W2-256": 4 * 256 * MiB };

/** The tiering workloads, in a tree of their own (tiermv truncates and restores them). */
async function tierWorkloads(root: string): Promise<Workload[]> {
  const names = NAMES.filter((n) => !only || only.includes(n));
  let loads = workloads(root, names);
  const broken = loads.filter((w) => w.bytes !== EXPECTED[w.name]);
  for (const w of broken) rmSync(dirname(w.dir), { recursive: true, force: true });
  if (broken.length > 0) loads = workloads(root, names);
  for (const w of loads) await stripTiermvXattrs(w.dir);
  return loads;
}

function lines(rows: TierRows): string[] {
  const { workload: w, runs } = rows;
  const walls = (name: string) => (runs.get(name as never) ?? []).map((m) => m.wall);
  const wall = (name: string) => median(walls(name));
  const rss = (name: string) => median((runs.get(name as never) ?? []).map((m) => m.rssMiB));
  const mibs = (name: string) => w.bytes / MiB / wall(name);
  const fps = (name: string) => w.files / wall(name);
  const of = (name: string, key: "cpu" | "serverCpu") =>
    median((runs.get(name as never) ?? []).map((m) => m[key]));
  const roundWalls = (name: string) =>
    walls(name)
      .map((x) => fmt(x, 2))
      .join(", ");
  // CPU says where the wall went: the tool's own work, the server's, or waiting (fsync, latency).
  const cell = (name: string) =>
    `| ${name} | ${fmt(wall(name), 2)} s (${roundWalls(name)}) | ${fmt(fps(name), 0)} files/s | ${fmt(mibs(name), 1)} MiB/s | ${fmt(rss(name), 0)} MiB | ${fmt(of(name, "cpu"), 1)} s | ${fmt(of(name, "serverCpu"), 1)} s |`;
  const best = DOWNLOAD_PEERS.reduce((a, b) => (mibs(a) >= mibs(b) ? a : b));
  return [
    `### ${w.name}: ${w.description} (${fmt(w.bytes / MiB, 0)} MiB)`,
    "",
    `Migrated once by tiermv in ${fmt(rows.migrate.wall, 1)} s.`,
    "",
    "| run | wall, median (rounds) | files/s | MiB/s | peak RSS | CPU | s3proxy CPU |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...["release", "head-loop", "head-loop-signed", "restore", ...GET_LOOPS, ...DOWNLOAD_PEERS]
      .concat(base ? ["release-base", "restore-base"] : [])
      .map(cell),
    "",
    `- restore: **${fmt(mibs("restore") / mibs(best), 2)}x** the faster peer (${best}, ${fmt(mibs(best), 1)} MiB/s); peak RSS **${fmt(rss("restore"), 0)} MiB**.`,
    `- a plain Bun download loop (bench/signed_get_loop.ts, GET and write, no protocol): ${fmt(mibs("get-loop-signed") / mibs(best), 2)}x the faster peer, ${fmt(mibs("get-loop-signed-fsync") / mibs(best), 2)}x with an fsync per file; restore is ${fmt(mibs("restore") / mibs("get-loop-signed-fsync"), 2)}x the loop with fsync.`,
    `- release: **${fmt(fps("release") / fps("head-loop"), 2)}x** the HEAD loop's rate (${fmt(fps("head-loop"), 0)} HEAD/s at ${CONCURRENCY} in flight); ${fmt(fps("release") / fps("head-loop-signed"), 2)}x the signed HEAD loop's (${fmt(fps("head-loop-signed"), 0)} HEAD/s).`,
    ...(base
      ? [
          `- before (${base}): restore **${fmt(mibs("restore-base") / mibs(best), 2)}x** the faster peer, peak RSS ${fmt(rss("restore-base"), 0)} MiB; release **${fmt(fps("release-base") / fps("head-loop"), 2)}x** the HEAD loop.`,
        ]
      : []),
    "",
  ];
}

async function main() {
  ensureDebianTools(["rclone", "awscli", "time"]);
  mkdirSync(WORK, { recursive: true });
  const load = new LoadLog();
  const loads = await tierWorkloads(join(WORK, "tier"));
  const rows: TierRows[] = [];
  await withStore("filesystem", WORK, async (store) => {
    for (const workload of loads)
      rows.push(await tierRounds({ store, workload, rounds, work: WORK, base, bin }));
  });
  const scan = scanFiles > 0 ? await scanSizes({ files: scanFiles, rounds, work: WORK }) : [];
  const date = new Date().toISOString().slice(0, 10);
  const text = [
    `# tiermv tiering benchmark, ${date}`,
    "",
    ...machineLines(load.stop()),
    `${rounds} rounds, in rotating order within each half (release and the HEAD loop; restore and the peers); medians shown, every round's wall in brackets. Everything at ${CONCURRENCY} files in flight: tiermv's default (migrate.concurrency), the HEAD loop, aws-cli (max_concurrent_requests) and rclone (--transfers, the W1/W2 tuning of bench/tools.ts). Every figure includes its process's start.`,
    "",
    "## Release and restore",
    "",
    ...rows.flatMap(lines),
    ...(scan.length > 0 ? ["## scan --dry-run", "", ...scanLines(scan)] : []),
    "",
  ].join("\n");
  const file = writeReport(REPO, text, partial, "-tier");
  console.log(`\n${text}\nWritten to ${file}`);
}

await main();
