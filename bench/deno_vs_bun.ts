/**
 * The same migration under Bun and under Deno: `run --node a --once` against one s3proxy, peak
 * RSS (the process with its worker threads), wall time and CPU. Bun runs as operators run it
 * (bin/tiermv, heap sized for 256 MiB); Deno with deno.json's `tiermv` task flags. Runtimes are
 * interleaved per round, so the load of the shared machine falls on both alike.
 * Workloads: `big` (one 40 MiB file, multipart with the default 8 MiB parts, and one small file),
 * W1 (10,000 x 16 KiB) and W2 (8 x 256 MiB) from bench/workloads.ts.
 * Usage: bun bench/deno_vs_bun.ts [--only big,W1,W2] [--rounds 1]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { createRuntime } from "../runtime/bun.ts";
import { CLI_MAIN, DENO, denoTaskFlags } from "../test/cli_runtime.ts";
import { randomBytes } from "../test/helpers.ts";
import { ACCESS_KEY, SECRET_KEY, startS3proxy } from "../test/services/s3proxy.ts";
import { s3Client } from "../test/services/shared.ts";
import { flagValue, WORK } from "./cli_args.ts";
import { measure, median, TIERMV, withProjectBun } from "./measure.ts";
import { workloads } from "./workloads.ts";

const option = flagValue;
const rounds = Number(option("--rounds") ?? 1);
const only = (option("--only") ?? "big,W1,W2").split(",");
const rt = createRuntime();

const RUNTIMES: [string, string[]][] = [
  ["bun", [TIERMV]],
  ["deno", [DENO, "run", ...denoTaskFlags(), CLI_MAIN]],
];

interface Case {
  name: string;
  root: string;
  files: number;
  bytes: number;
}

/** One 40 MiB file (5 parts of 8 MiB) and one small file, made once. */
function bigCase(): Case {
  const root = join(WORK, "deno-vs-bun-big");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "forty.bin"), randomBytes(40 * 1024 * 1024, 40));
  writeFileSync(join(root, "small.txt"), "a small file beside the big one\n");
  return { name: "big", root, files: 2, bytes: 40 * 1024 * 1024 + 32 };
}

function cases(): Case[] {
  const out: Case[] = only.includes("big") ? [bigCase()] : [];
  const wanted = only.filter((name) => name !== "big");
  if (wanted.length > 0)
    for (const w of workloads(WORK, wanted))
      out.push({ name: w.name, root: w.dir, files: w.files, bytes: w.bytes });
  return out;
}

/** Removes tiermv's records from every file under `root` (each run starts unmigrated). */
async function clearRecords(root: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await rt.fs.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.kind === "dir") await walk(path);
      else if (entry.kind === "file")
        for (const name of await rt.xattr.list(path))
          if (name.startsWith("user.tiermv.")) await rt.xattr.remove(path, name);
    }
  };
  await walk(root);
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const all = cases();
  const jvm = ["-Xms1g", "-Xmx4g", "-XX:+UseParallelGC"];
  const dataDir = join(WORK, "s3data-deno-vs-bun");
  const s3 = await startS3proxy({ dataDir, jvmFlags: jvm });
  const env = withProjectBun({
    ...process.env,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_REGION: "us-east-1",
    TIERMV_LOG: "json",
  });
  const rows: string[] = [];
  try {
    for (const c of all) {
      const results = new Map<string, { wall: number; rss: number; cpu: number }[]>();
      for (let round = 0; round < rounds; round++) {
        for (const [label, start] of RUNTIMES) {
          await clearRecords(c.root);
          const bucket = `dvb-${label}-${Date.now().toString(36)}`;
          const client = s3Client(s3.endpoint);
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          const run = join(WORK, "deno-vs-bun-run");
          rmSync(run, { recursive: true, force: true });
          mkdirSync(run, { recursive: true });
          const config = join(run, "config.json");
          const settings = { spool: join(run, "spool"), root: c.root, target: `s3://${bucket}/x` };
          writeFileSync(
            config,
            JSON.stringify({ ...settings, nodes: ["a"], s3: { endpoint: s3.endpoint } }),
          );
          const runEnv = { ...env, TIERMV_CONFIG: config, TIERMV_LOCK_DIR: run };
          // The spool and the request are the same for both: made by Bun, outside the measure.
          for (const args of [["init"], ["submit", "--node", "a", "--quiet", c.root]]) {
            const made = Bun.spawnSync([TIERMV, ...args], { env: runEnv, stderr: "pipe" });
            if (made.exitCode !== 0) throw new Error(`${args[0]}: ${made.stderr.toString()}`);
          }
          const m = await measure([...start, "run", "--node", "a", "--once", "--quiet"], runEnv);
          const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
          client.destroy();
          // s3proxy's filesystem backend lists directories as "dir/" keys: not objects.
          const stored = (listed.Contents ?? []).filter((o) => !o.Key?.endsWith("/")).length;
          if (c.files <= 1000 && stored !== c.files)
            throw new Error(`${label} ${c.name}: ${stored} of ${c.files} objects stored`);
          console.log(
            `${c.name} round ${round + 1} ${label}: ${m.wall.toFixed(1)} s, ${m.rssMiB.toFixed(0)} MiB peak RSS, ${m.cpu.toFixed(1)} s CPU`,
          );
          const list = results.get(label) ?? [];
          list.push({ wall: m.wall, rss: m.rssMiB, cpu: m.cpu });
          results.set(label, list);
          rmSync(join(dataDir, bucket), { recursive: true, force: true });
        }
      }
      for (const [label, runs] of results) {
        const wall = median(runs.map((r) => r.wall));
        const rate =
          c.name === "W1"
            ? `${(c.files / wall).toFixed(0)} files/s`
            : `${(c.bytes / 2 ** 20 / wall).toFixed(1)} MiB/s`;
        const rss = median(runs.map((r) => r.rss)).toFixed(0);
        const cpu = median(runs.map((r) => r.cpu)).toFixed(1);
        rows.push(`| ${c.name} | ${label} | ${rate} | ${rss} MiB | ${cpu} s |`);
      }
    }
  } finally {
    await s3.stop();
  }
  console.log(`\n| workload | runtime | rate | peak RSS | CPU |\n|---|---|---:|---:|---:|`);
  console.log(`${rows.join("\n")}\n(median of ${rounds} run${rounds > 1 ? "s" : ""} each)`);
}

await main();
