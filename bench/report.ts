/**
 * The results file: medians per tool, ratios to the best peer of the same group (same workload,
 * store and run), the machine and the load it ran under. Only a full run writes
 * bench/results/<date>.md; partial runs go to bench/work/ (git-ignored, outside Biome).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { median } from "./measure.ts";
import { BENCH_ENV } from "./store.ts";
import { isPeer } from "./tools.ts";
import type { Row, Run } from "./transfer.ts";

export const fmt = (n: number, digits = 1) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Share of the machine's cores the tool, the server (and `extraCpu`) kept busy together. */
export const busy = (m: Run, extraCpu = 0) =>
  (m.cpu + m.serverCpu + extraCpu) / (m.wall * cpus().length);

export interface Stat {
  fps: number;
  mibs: number;
  rss: number;
  cpu: number;
  cpuMsPerFile: number;
  serverCpu: number;
  busy: number;
  extra: Record<string, number>;
}

export function stat(r: Row): Stat {
  const wall = median(r.runs.map((m) => m.wall));
  const cpu = median(r.runs.map((m) => m.cpu));
  const keys = Object.keys(r.runs[0]?.extra ?? {});
  const extra = Object.fromEntries(
    keys.map((k) => [k, median(r.runs.map((m) => m.extra?.[k] ?? 0))]),
  );
  return {
    fps: r.workload.files / wall,
    mibs: r.workload.bytes / 1048576 / wall,
    rss: median(r.runs.map((m) => m.rssMiB)),
    cpu,
    cpuMsPerFile: (cpu * 1000) / r.workload.files,
    serverCpu: median(r.runs.map((m) => m.serverCpu)),
    busy: median(r.runs.map((m) => busy(m))),
    extra,
  };
}

/** Best files/s and MiB/s among the peers of one group. */
export function bestPeer(group: Row[]): { fps: number; mibs: number } {
  const peers = group.filter((r) => isPeer(r.tool)).map(stat);
  return {
    fps: Math.max(0, ...peers.map((p) => p.fps)),
    mibs: Math.max(0, ...peers.map((p) => p.mibs)),
  };
}

export function byGroup(rows: Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) out.set(r.group, [...(out.get(r.group) ?? []), r]);
  return out;
}

/** The transfer table (W1-W3): one line per tool and group. */
export function transferTable(rows: Row[]): string[] {
  const lines = [
    "| workload | tool | files/s | MiB/s | peak RSS | CPU s | CPU ms/file | server CPU s | cores busy | vs best peer (files/s, MiB/s) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const [name, group] of byGroup(rows)) {
    const best = bestPeer(group);
    for (const r of group) {
      const s = stat(r);
      const ratio =
        r.tool.startsWith("tiermv") && best.fps > 0
          ? `${fmt(s.fps / best.fps, 2)}x, ${fmt(s.mibs / best.mibs, 2)}x`
          : "";
      lines.push(
        `| ${name} (${r.workload.description}) | ${r.tool} | ${fmt(s.fps, 0)} | ${fmt(s.mibs)} | ${fmt(s.rss, 0)} MiB | ${fmt(s.cpu)} | ${fmt(s.cpuMsPerFile, 2)} | ${fmt(s.serverCpu)} | ${fmt(s.busy * 100, 0)}% | ${ratio} |`,
      );
    }
  }
  return lines;
}

const version = (cmd: string[]) =>
  Bun.spawnSync(cmd, { env: BENCH_ENV as Record<string, string> })
    .stdout.toString()
    .split("\n")[0]
    ?.trim();

/** Load averages sampled during the run (1-minute figure), for the header. */
export class LoadLog {
  private readonly samples: number[] = [];
  private readonly timer = setInterval(() => this.samples.push(loadavg()[0] ?? 0), 15_000);
  stop(): string {
    clearInterval(this.timer);
    const s = [...this.samples, loadavg()[0] ?? 0].sort((a, b) => a - b);
    return `load average (1 min, sampled every 15 s) min ${fmt(s[0] ?? 0, 2)}, median ${fmt(median(s), 2)}, max ${fmt(s[s.length - 1] ?? 0, 2)}`;
  }
}

export function machineLines(load: string): string[] {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  let kernel = "";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {}
  return [
    `Machine: ${cpus().length} cores (${cpu}), ${fmt(totalmem() / 1024 ** 3, 0)} GiB RAM, local ext4 disk, Linux ${kernel}; shared with other engineers' test suites (${load}), so read the ratios within one run, not the absolute figures.`,
    `Tools: tiermv (Bun ${Bun.version}), ${version(["rclone", "version"])}, ${version(["/usr/bin/aws", "--version"])}; server s3proxy 2.6.0 on loopback (same machine, same cores).`,
  ];
}

/** Writes the report: bench/results/<date>.md for a full run, else bench/work/<date>-partial.md. */
export function writeReport(repo: string, text: string, partial: boolean, suffix = ""): string {
  const date = new Date().toISOString().slice(0, 10);
  const dir = join(repo, partial ? "bench/work" : "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date}${suffix}${partial ? "-partial" : ""}.md`);
  writeFileSync(file, text);
  return file;
}
