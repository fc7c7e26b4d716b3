/**
 * `bench/run`: tiermv against rclone and aws-cli v2 on s3proxy, every workload in one run.
 *   W1, W2-32/128/256/512 (on both s3proxy backends), W3  transfers on loopback (bench/transfer.ts)
 *   W5      a distant store: the delay proxy at 20 and 50 ms (bench/w5_distant.ts)
 *   SCALE   1, 2 and 4 nodes on one spool against the 20 ms store (bench/scale_out.ts)
 *   META    system calls on the shared filesystem per file, traced (bench/syscalls.ts)
 *   W4      one task of 1,000,000 entries;  MILLION  a million files end to end (bench/million.ts)
 * Rounds rotate the tools' order; medians and ratios within this run. Only a full run writes
 * bench/results/<date>.md; anything narrowed (--only, --tools, --backends, --delays, --million,
 * --rounds) writes bench/work/<date>-partial.md.
 * Usage: bench/run [--only W1,W2,W2-128,W3,W4,W5,SCALE,META,MILLION] [--rounds 3] [--tools LIST]
 *   [--backends filesystem,filesystem-nio2] [--delays 20,50] [--million 1000000]
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { S3proxyBackend } from "../test/services/s3proxy.ts";
import { flagValue, REPO, WORK } from "./cli_args.ts";
import { ensureDebianTools } from "./debian_tools.ts";
import { millionEntries, millionFiles } from "./million.ts";
import { fmt, LoadLog, machineLines, stat, transferTable, writeReport } from "./report.ts";
import { scaleOut } from "./scale_out.ts";
import { freshBucket, probeCeiling, withStore } from "./store.ts";
import { metadataCost } from "./syscalls.ts";
import { TOOLS, type Tool } from "./tools.ts";
import { type Row, runRounds } from "./transfer.ts";
import { distantStore, W5_TOOLS } from "./w5_distant.ts";
import { expandNames, type Workload, workloads } from "./workloads.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => flagValue(name, argv);
const list = (name: string) => flag(name)?.split(",");
const ALL = ["W1", "W2", "W3", "W5", "SCALE", "META", "W4", "MILLION"];
const only = list("--only") ?? ALL;
const wants = (name: string) =>
  only.includes(name) || (name === "W2" && only.some((o) => o.startsWith("W2-")));
const rounds = Number(flag("--rounds") ?? 3);
const toolFilter = list("--tools") as Tool[] | undefined;
const backends = (list("--backends") ?? ["filesystem", "filesystem-nio2"]) as S3proxyBackend[];
const delays = (list("--delays") ?? ["20", "50"]).map(Number);
const millionCount = Number(flag("--million") ?? 1_000_000);
const partial = ["--only", "--tools", "--backends", "--delays", "--million", "--rounds"].some((f) =>
  argv.includes(f),
);
const pick = (tools: Tool[]) => tools.filter((t) => !toolFilter || toolFilter.includes(t));
const PEERS: Tool[] = ["tiermv", "tiermv-tuned", "rclone-tuned", "aws-tuned"];

async function main() {
  ensureDebianTools();
  mkdirSync(WORK, { recursive: true });
  const load = new LoadLog();
  const names = expandNames(only.includes("W2") ? [...only, "W2"] : only);
  const transferNames = [...names];
  if (wants("W5")) transferNames.push("W5-small", "W2-256");
  if (wants("SCALE")) transferNames.push("W5-small");
  if (wants("META")) transferNames.push("W1");
  console.log(
    `Generating workloads ${[...new Set(transferNames)].join(", ")} under ${WORK} (once)`,
  );
  const loads = new Map<string, Workload>(
    workloads(WORK, [...new Set(transferNames)]).map((w) => [w.name, w]),
  );
  const get = (name: string) => loads.get(name) as Workload;
  const sections: string[][] = [];
  const rows: Row[] = [];
  let ceiling = "";

  const onFilesystem = ["W1", "W2", "W3", "W5", "SCALE", "META"].some(wants);
  if (onFilesystem)
    await withStore("filesystem", WORK, async (store) => {
      const c = probeCeiling(store.direct, await freshBucket(store.direct), {
        ...{ bodyBytes: 16 << 10, inFlight: 64, seconds: 10, warmupSeconds: 10 },
      });
      ceiling = `${fmt(c.perSecond, 0)} PUT/s (16 KiB bodies, 64 in flight, AWS SDK, 10 s after a 10 s warm-up)`;
      console.log(`ceiling: ${ceiling}`);
      const common = { store, rounds, work: WORK };
      if (wants("W1"))
        rows.push(
          ...(await runRounds({
            ...common,
            workload: get("W1"),
            tools: pick([...PEERS, "sdk-loop"]),
          })),
        );
      if (backends.includes("filesystem"))
        for (const n of names.filter((n) => n.startsWith("W2-")))
          rows.push(
            ...(await runRounds({
              ...common,
              workload: get(n),
              tools: pick(PEERS),
              group: `${n} filesystem`,
            })),
          );
      if (wants("W3"))
        rows.push(...(await runRounds({ ...common, workload: get("W3"), tools: pick(PEERS) })));
      if (wants("W5")) {
        const opts = {
          ...common,
          small: get("W5-small"),
          large: get("W2-256"),
          delays,
          tools: pick(W5_TOOLS),
        };
        sections.push(["## W5: a distant store", "", ...(await distantStore(opts))]);
      }
      if (wants("SCALE")) {
        const opts = {
          ...common,
          workload: get("W5-small"),
          nodes: [1, 2, 4],
          concurrency: 4,
          delayMs: 20,
        };
        sections.push(["## Scale-out", "", ...(await scaleOut(opts))]);
      }
      if (wants("META")) {
        const w1 = get("W1");
        const paths = [0, 1, 2, 3].map((d) => join(w1.dir, `d${d}`));
        const opts = { store, workload: w1, paths, files: 2000, work: WORK };
        sections.push(["## Metadata cost per file", "", ...(await metadataCost(opts))]);
      }
    });
  const nio2 = names.filter((n) => n.startsWith("W2-"));
  if (backends.includes("filesystem-nio2") && nio2.length > 0)
    await withStore("filesystem-nio2", WORK, async (store) => {
      for (const n of nio2)
        rows.push(
          ...(await runRounds({
            store,
            rounds,
            work: WORK,
            workload: get(n),
            tools: pick(PEERS),
            group: `${n} filesystem-nio2`,
          })),
        );
    });

  const end: string[] = [];
  if (wants("W4")) end.push(await millionEntries(WORK));
  if (wants("MILLION"))
    sections.push([
      "## A million files end to end",
      "",
      ...(await millionFiles({ files: millionCount, work: WORK })),
    ]);
  if (end.length > 0)
    sections.push([
      "## W4",
      "",
      "| workload | wall | rate | peak RSS | CPU |",
      "|---|---:|---:|---:|---:|",
      ...end,
    ]);

  const date = new Date().toISOString().slice(0, 10);
  const header = [
    `# tiermv benchmark, ${date}`,
    "",
    ...machineLines(load.stop()),
    ...(ceiling ? [`Ceiling probe (s3proxy filesystem, direct): ${ceiling}.`] : []),
    `Each tool ran ${rounds} times per workload in rotating order into a fresh bucket; medians shown. tiermv = \`submit\` + \`run --once\` (one node, the full xattr protocol, Content-MD5 on every PUT and part); "tiermv" is its defaults, "-tuned" the settings in bench/tools.ts. sdk-loop = bench/sdk_put_loop.ts, not a peer: the least a Bun + SDK client pays per file.`,
    "",
  ];
  const w1 = rows.filter((r) => r.workload.name === "W1");
  const cpuNote = cpuPerFile(w1);
  const transfer =
    rows.length > 0
      ? ["## W1-W3: transfers on loopback", "", ...transferTable(rows), "", ...cpuNote, ""]
      : [];
  const text = `${[...header, ...transfer, ...sections.flatMap((s) => [...s, ""])].join("\n")}`;
  const file = writeReport(REPO, text, partial);
  console.log(`\n${text}\nWritten to ${file}`);
}

/** W1's client CPU per file, tiermv against rclone (the issue's goal: at or below rclone's). */
function cpuPerFile(w1: Row[]): string[] {
  const ms = (tool: Tool) => {
    const r = w1.find((x) => x.tool === tool);
    return r ? stat(r).cpuMsPerFile : null;
  };
  const rclone = ms("rclone-tuned");
  if (rclone === null) return [];
  return TOOLS.filter((t) => t.startsWith("tiermv") || t === "sdk-loop")
    .map((t) => [t, ms(t)] as const)
    .filter(([, v]) => v !== null)
    .map(
      ([t, v]) =>
        `Client CPU per file on W1: ${t} ${fmt(v ?? 0, 2)} ms against rclone-tuned ${fmt(rclone, 2)} ms (${fmt((v ?? 0) / rclone, 2)}x).`,
    );
}

await main();
