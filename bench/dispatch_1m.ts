/**
 * Dispatch rate and peak RSS for a 1,000,000-path request (`bun bench/dispatch_1m.ts`).
 * The request's paths cycle over 10,000 real tiny files (dispatch lstat's every path), it is
 * submitted with `--from` (streamed), and the submit process's peak RSS is read with GNU time
 * (Debian's `time`, installed when missing).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDebianTools } from "./debian_tools.ts";
import { fileTargetConfig, measure, TIERMV, withProjectBun } from "./measure.ts";

const PATHS = Number(process.argv[2] ?? 1_000_000);
ensureDebianTools(["time"]);
const FILES = 10_000;
const dir = mkdtempSync(join(tmpdir(), "tiermv-bench-dispatch-"));
const src = join(dir, "src");
for (let d = 0; d < 100; d++) {
  mkdirSync(join(src, `d${d}`), { recursive: true });
  for (let f = 0; f < FILES / 100; f++) writeFileSync(join(src, `d${d}`, `f${f}`), "x");
}
const list = join(dir, "paths.txt");
const lines: string[] = [];
for (let i = 0; i < PATHS; i++)
  lines.push(join(src, `d${i % 100}`, `f${Math.floor(i / 100) % (FILES / 100)}`));
writeFileSync(list, `${lines.join("\n")}\n`);
lines.length = 0;
const config = fileTargetConfig(dir, { root: src, nodes: ["a", "b", "c"] });

const m = await measure(
  [TIERMV, "submit", "--from", list, "--json"],
  withProjectBun({ ...process.env, TIERMV_CONFIG: config }),
);
const result = JSON.parse(m.stdout).result;
console.log(
  `dispatch: ${result.files} paths in ${result.tasks.length} tasks, ${m.wall.toFixed(1)} s, ${Math.round(result.files / m.wall)} paths/s, peak RSS ${m.rssMiB.toFixed(0)} MiB`,
);
rmSync(dir, { recursive: true, force: true });
