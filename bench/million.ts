/**
 * A million files end to end on the file:// target: `submit` of a tree of N small files
 * (1,000,000, or fewer for a quick run), `run --once` until done with `status` asked every few
 * seconds meanwhile, then `verify`. Rate and peak RSS of each command (goal: 150 MiB each).
 * The tree is built once under bench/work/million-N (100-byte files, 1,000 per directory: about
 * 4 GiB of blocks for a million) and its xattrs are stripped before a rerun; the target's copy
 * is removed afterwards.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  fileTargetConfig,
  type Measurement,
  measure,
  median,
  TIERMV,
  withProjectBun,
} from "./measure.ts";
import { fmt } from "./report.ts";
import { BENCH_ENV } from "./store.ts";
import { stripTiermvXattrs } from "./transfer.ts";

const PER_DIR = 1000;

export function buildTree(base: string, files: number): string {
  const src = join(base, "src");
  const built = join(base, ".built");
  if (existsSync(built)) return src;
  rmSync(src, { recursive: true, force: true });
  const body = new Uint8Array(100);
  for (let i = 0; i < files; i++) {
    const dir = join(src, `d${String(Math.floor(i / PER_DIR)).padStart(4, "0")}`);
    if (i % PER_DIR === 0) mkdirSync(dir, { recursive: true });
    body.fill(i % 251);
    writeFileSync(join(dir, `f${i % PER_DIR}`), body);
    if (i % 100_000 === 99_999) console.log(`million: ${i + 1} files written`);
  }
  writeFileSync(built, "");
  return src;
}

const describe = (name: string, files: number, m: Measurement) =>
  `| ${name} | ${fmt(m.wall, 1)} s | ${fmt(files / m.wall, 0)} files/s | **${fmt(m.rssMiB, 0)} MiB** | ${fmt(m.cpu, 1)} s |`;

export async function millionFiles(options: { files: number; work: string }): Promise<string[]> {
  const { files, work } = options;
  const base = join(work, `million-${files}`);
  const src = buildTree(base, files);
  const dirty = join(base, ".dirty");
  if (existsSync(dirty)) {
    console.log("million: removing the last run's xattrs");
    await stripTiermvXattrs(src);
    rmSync(dirty);
  }
  const dir = join(base, "run");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = fileTargetConfig(dir, { root: src, nodes: ["a"] });
  const env = withProjectBun({
    ...BENCH_ENV,
    TIERMV_CONFIG: config,
    TIERMV_LOCK_DIR: dir,
    TIERMV_LOG: "json",
  });
  writeFileSync(dirty, "");
  const submit = await measure([TIERMV, "submit", "--node", "a", "--quiet", src], env);
  console.log(`million: submit ${fmt(submit.wall)} s, ${fmt(submit.rssMiB, 0)} MiB`);
  let done = false;
  const running = measure([TIERMV, "run", "--node", "a", "--once", "--quiet"], env).finally(() => {
    done = true;
  });
  const statuses: Measurement[] = [];
  while (!done) {
    await Promise.race([running, Bun.sleep(5_000)]);
    if (done) break;
    const s = await measure([TIERMV, "status", "--json"], env);
    statuses.push(s);
    const nodes = JSON.parse(s.stdout) as { done: number; pending: number }[];
    console.log(
      `million: status ${fmt(s.wall, 2)} s, ${fmt(s.rssMiB, 0)} MiB; tasks done ${nodes[0]?.done}, pending ${nodes[0]?.pending}`,
    );
  }
  const run = await running;
  console.log(`million: run ${fmt(run.wall)} s, ${fmt(run.rssMiB, 0)} MiB`);
  const verify = await measure([TIERMV, "verify", "--quiet"], env);
  console.log(`million: verify ${fmt(verify.wall)} s, ${fmt(verify.rssMiB, 0)} MiB`);
  rmSync(dir, { recursive: true, force: true });
  const walls = statuses.map((s) => s.wall);
  const rss = statuses.map((s) => s.rssMiB);
  return [
    `${files.toLocaleString("en-US")} files of 100 bytes in ${files / PER_DIR} directories, file:// target on the same disk, tiermv's defaults, one node.`,
    "",
    "| command | wall | rate | peak RSS | CPU |",
    "|---|---:|---:|---:|---:|",
    describe("submit (walk, dispatch)", files, submit),
    describe("run --once (migrate all)", files, run),
    describe("verify", files, verify),
    `| status, ${statuses.length} calls during the run | median ${fmt(median(walls), 2)} s, max ${fmt(Math.max(0, ...walls), 2)} s | | **${fmt(median(rss), 0)} MiB median, ${fmt(Math.max(0, ...rss), 0)} max** | |`,
  ];
}

/** W4: peak RSS of one task of 1,000,000 entries over 1,000 tiny files (file:// target). */
export async function millionEntries(work: string): Promise<string> {
  const dir = join(work, "w4");
  rmSync(dir, { recursive: true, force: true });
  const src = join(dir, "src");
  mkdirSync(join(dir, "spool/nodes/a/pending"), { recursive: true });
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(src, `d${d}`, `f${f}`), "x");
  }
  const header = {
    v: 1,
    id: "w4-million",
    requestId: "w4",
    createdAt: new Date().toISOString(),
    target: `file://${dir}/out`,
    options: {},
  };
  const lines = [JSON.stringify(header)];
  for (let i = 0; i < 1_000_000; i++)
    lines.push(JSON.stringify({ path: join(src, `d${i % 10}`, `f${Math.floor(i / 10) % 100}`) }));
  writeFileSync(join(dir, "spool/nodes/a/pending/w4-million.task"), `${lines.join("\n")}\n`);
  const config = fileTargetConfig(dir, {
    root: src,
    nodes: ["a"],
    extra: { migrate: { concurrency: 16 } },
  });
  const env = { ...BENCH_ENV, TIERMV_CONFIG: config, TIERMV_LOCK_DIR: dir, TIERMV_LOG: "json" };
  const m = await measure([TIERMV, "run", "--node", "a", "--once", "--quiet"], withProjectBun(env));
  rmSync(dir, { recursive: true, force: true });
  return `| W4: one task of 1,000,000 entries (1,000 distinct tiny files, file:// target) | ${fmt(m.wall)} s | ${fmt(1_000_000 / m.wall, 0)} entries/s | **${fmt(m.rssMiB, 0)} MiB** | ${fmt(m.cpu)} s |`;
}
