/**
 * `tiermv scan --dry-run` at two sizes of one tree of empty files (issue 2.6: constant memory
 * over 1,000,000 files): the tree is src/p<k>/d<nnn>/f<i>, 1,000 files per directory and 100
 * directories per part, built once under bench/work/tier-scan-N; the smaller size is part p0
 * alone (100,000 files for a million), the larger the whole root. Peak RSS and rate of each.
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileTargetConfig, type Measurement, measure, median, TIERMV } from "./measure.ts";
import { fmt } from "./report.ts";
import { tiermvEnv } from "./tools.ts";

const PER_DIR = 1000;
const DIRS_PER_PART = 100;

/** Builds (once) `files` empty files; returns the root and the first part's directory. */
function buildTree(base: string, files: number): { root: string; part0: string } {
  const root = join(base, "src");
  const built = join(base, ".built");
  const part0 = join(root, "p0");
  if (existsSync(built)) return { root, part0 };
  rmSync(root, { recursive: true, force: true });
  const started = Date.now();
  for (let i = 0; i < files; i++) {
    const d = Math.floor(i / PER_DIR);
    const dir = join(root, `p${Math.floor(d / DIRS_PER_PART)}`, `d${d % DIRS_PER_PART}`);
    if (i % PER_DIR === 0) mkdirSync(dir, { recursive: true });
    closeSync(openSync(join(dir, `f${i % PER_DIR}`), "w"));
    if (i % 100_000 === 99_999) console.log(`tier scan: ${i + 1} empty files created`);
  }
  writeFileSync(built, "");
  console.log(`tier scan: ${files} files in ${fmt((Date.now() - started) / 1000, 0)} s`);
  return { root, part0 };
}

export interface ScanFigure {
  files: number;
  runs: Measurement[];
}

/** Runs `scan --dry-run` `rounds` times over each size; the smaller size first in each round. */
export async function scanSizes(options: {
  files: number;
  rounds: number;
  work: string;
}): Promise<ScanFigure[]> {
  const { files, rounds, work } = options;
  const base = join(work, `tier-scan-${files}`);
  const { root, part0 } = buildTree(base, files);
  const dir = join(base, "run");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = fileTargetConfig(dir, { root, nodes: ["a"] });
  const env = tiermvEnv(config, dir);
  const small = Math.min(files, PER_DIR * DIRS_PER_PART);
  const sizes: [number, string][] = [
    [small, part0],
    [files, root],
  ];
  const figures = sizes.map(([n]) => ({ files: n, runs: [] as Measurement[] }));
  for (let r = 0; r < rounds; r++)
    for (const [i, [n, path]] of sizes.entries()) {
      console.log(`tier scan: round ${r + 1}, ${n} files`);
      const m = await measure([TIERMV, "scan", "--node", "a", "--dry-run", path], env);
      figures[i]?.runs.push(m);
    }
  return figures;
}

export function scanLines(figures: ScanFigure[]): string[] {
  return [
    "| files | wall (median) | rate | peak RSS (median) | peak RSS per round | CPU |",
    "|---:|---:|---:|---:|---:|---:|",
    ...figures.map((f) => {
      const wall = median(f.runs.map((m) => m.wall));
      const rss = f.runs.map((m) => fmt(m.rssMiB, 0)).join(", ");
      return `| ${f.files.toLocaleString("en-US")} | ${fmt(wall, 1)} s | ${fmt(f.files / wall, 0)} files/s | **${fmt(median(f.runs.map((m) => m.rssMiB)), 0)} MiB** | ${rss} | ${fmt(median(f.runs.map((m) => m.cpu)), 1)} s |`;
    }),
  ];
}
