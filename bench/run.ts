/**
 * `bench/run`: tiermv against rclone and aws-cli v2 on the same s3proxy, in one run.
 * For each workload, `--rounds` (3) rounds; in each round every tool runs once, in an order that
 * rotates between rounds, into a fresh bucket. Reports medians of files/s, MiB/s, peak RSS and
 * CPU seconds, the ratio of tiermv to the best peer, a ceiling probe, the protocol's overhead
 * (W1 with the xattr protocol disabled) and W4 (peak RSS of one 1,000,000-entry task).
 * Usage: bench/run [--only W1,W2,W3,W4] [--rounds 3] [--tools tiermv,rclone,aws,sdk-loop]
 */

import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { createRuntime } from "../runtime/bun.ts";
import { ACCESS_KEY, SECRET_KEY, startS3proxy } from "../test/services/s3proxy.ts";
import { s3Client } from "../test/services/shared.ts";
import {
  fileTargetConfig,
  initSpool,
  type Measurement,
  measure,
  median,
  TIERMV,
  withProjectBun,
} from "./measure.ts";
import { type Workload, workloads } from "./workloads.ts";

const REPO = new URL("..", import.meta.url).pathname;
const WORK = join(REPO, "bench/work");
const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = flag("--only")?.split(",");
const rounds = Number(flag("--rounds") ?? 3);
const onlyTools = flag("--tools")?.split(",");
const rt = createRuntime();

// The machine's CA-bundle variables break rclone even on plain-HTTP loopback: unset them here.
const CA_VARS = [
  "AWS_CA_BUNDLE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
  "REQUESTS_CA_BUNDLE",
];
const baseEnv: Record<string, string | undefined> = {
  ...process.env,
  AWS_ACCESS_KEY_ID: ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: SECRET_KEY,
  AWS_REGION: "us-east-1",
};
for (const v of CA_VARS) delete baseEnv[v];

function ensureTools() {
  const missing = [
    ["rclone", "/usr/bin/rclone"],
    ["awscli", "/usr/bin/aws"],
    ["time", "/usr/bin/time"],
  ].filter(([, bin]) => !existsSync(bin ?? ""));
  if (missing.length === 0) return;
  const pkgs = missing.map(([p]) => p ?? "");
  console.log(`Installing ${pkgs.join(", ")} from Debian's packages`);
  Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "inherit", stderr: "inherit" });
  const r = Bun.spawnSync(["apt-get", "install", "-y", "-qq", ...pkgs], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (r.exitCode !== 0) throw new Error(`apt-get install ${pkgs.join(" ")} failed`);
}

interface Tuning {
  tiermv: {
    concurrency: number;
    partConcurrency: number;
    partSize: number;
    multipartThreshold: number;
  };
  rclone: string[];
  awsConcurrency: number;
}

const TUNING: Record<string, Tuning> = {
  W1: {
    tiermv: {
      concurrency: 32,
      partConcurrency: 4,
      partSize: 16 << 20,
      multipartThreshold: 16 << 20,
    },
    rclone: ["--transfers", "32", "--checkers", "32"],
    awsConcurrency: 32,
  },
  W2: {
    tiermv: {
      concurrency: 8,
      partConcurrency: 4,
      partSize: 16 << 20,
      multipartThreshold: 16 << 20,
    },
    rclone: ["--transfers", "8", "--s3-upload-concurrency", "4", "--s3-chunk-size", "16M"],
    awsConcurrency: 32,
  },
  W3: {
    // Single PUTs up to 200 MiB, as rclone's default --s3-upload-cutoff: s3proxy's filesystem
    // backend copies every byte of a multipart upload once more when it completes.
    tiermv: {
      concurrency: 16,
      partConcurrency: 4,
      partSize: 16 << 20,
      multipartThreshold: 200 << 20,
    },
    rclone: [
      "--transfers",
      "16",
      "--checkers",
      "16",
      "--s3-upload-concurrency",
      "4",
      "--s3-chunk-size",
      "16M",
    ],
    awsConcurrency: 32,
  },
};

/** The s3proxy JVM, whose CPU time each run also reports (the server shares the two cores). */
let serverPid: number | undefined;

let bucketSeq = 0;
async function freshBucket(endpoint: string): Promise<string> {
  const name = `bench-${Date.now().toString(36)}-${++bucketSeq}`;
  const client = s3Client(endpoint);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return name;
}

async function countObjects(endpoint: string, bucket: string): Promise<number> {
  const client = s3Client(endpoint);
  let count = 0;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    count += (page.Contents ?? []).filter((o) => !(o.Key ?? "").endsWith("/")).length;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return count;
}

async function stripState(dir: string) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    for (const name of await rt.xattr.list(path))
      if (name.startsWith("user.tiermv.")) await rt.xattr.remove(path, name);
  }
}

/** sdk-loop: not a peer, the least a Bun + SDK client pays per file (bench/sdk_put_loop.ts). */
type Tool = "tiermv" | "rclone" | "aws" | "sdk-loop";

async function runTool(
  tool: Tool,
  w: Workload,
  endpoint: string,
  bucket: string,
  n: number,
): Promise<Measurement> {
  const t = TUNING[w.name] as Tuning;
  if (tool.startsWith("tiermv")) {
    await stripState(w.dir);
    const dir = join(WORK, `run-${n}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        spool: join(dir, "spool"),
        root: w.dir,
        target: `s3://${bucket}/${w.name}`,
        nodes: ["a"],
        s3: {
          endpoint,
          partSize: t.tiermv.partSize,
          partConcurrency: t.tiermv.partConcurrency,
          multipartThreshold: t.tiermv.multipartThreshold,
        },
        migrate: { concurrency: t.tiermv.concurrency },
        dispatch: { maxFiles: 1000 },
      }),
    );
    initSpool(config);
    const script = `${TIERMV} submit --node a --quiet ${w.dir} > /dev/null && ${TIERMV} run --node a --once --quiet`;
    const env: Record<string, string | undefined> = withProjectBun({
      ...baseEnv,
      TIERMV_CONFIG: config,
      TIERMV_LOCK_DIR: dir,
      TIERMV_LOG: "json",
    });
    return measure(["sh", "-c", script], env, serverPid);
  }
  if (tool === "sdk-loop") {
    const loop = `${REPO}bench/sdk_put_loop.ts`;
    const args = [endpoint, bucket, w.name, w.dir, String(t.tiermv.concurrency)];
    return measure([process.execPath, loop, ...args], baseEnv, serverPid);
  }
  if (tool === "rclone") {
    return measure(
      [
        "rclone",
        "copy",
        w.dir,
        `bench:${bucket}/${w.name}`,
        "--s3-no-check-bucket",
        "--no-traverse",
        "--stats",
        "0",
        ...t.rclone,
      ],
      {
        ...baseEnv,
        RCLONE_CONFIG_BENCH_TYPE: "s3",
        RCLONE_CONFIG_BENCH_PROVIDER: "Other",
        RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: ACCESS_KEY,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: SECRET_KEY,
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
        RCLONE_CONFIG_FILE: "/dev/null",
      },
      serverPid,
    );
  }
  const awsConfig = join(WORK, "aws-config");
  writeFileSync(
    awsConfig,
    `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${t.awsConcurrency}\n  multipart_threshold = 16MB\n  multipart_chunksize = 16MB\n  addressing_style = path\n`,
  );
  return measure(
    [
      "/usr/bin/aws",
      "s3",
      "cp",
      "--recursive",
      "--only-show-errors",
      "--endpoint-url",
      endpoint,
      w.dir,
      `s3://${bucket}/${w.name}`,
    ],
    { ...baseEnv, AWS_CONFIG_FILE: awsConfig },
    serverPid,
  );
}

interface Row {
  workload: Workload;
  tool: Tool;
  runs: Measurement[];
}

/** Share of the machine's cores the tool and the server kept busy together during a run. */
const busy = (m: Measurement) => (m.cpu + m.serverCpu) / (m.wall * cpus().length);

function fmt(n: number, digits = 1) {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

async function w4(): Promise<string> {
  // One task of 1,000,000 entries over 1,000 tiny files, into a file:// target.
  const dir = join(WORK, "w4");
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
  const m = await measure(
    [TIERMV, "run", "--node", "a", "--once", "--quiet"],
    withProjectBun({ ...baseEnv, TIERMV_CONFIG: config, TIERMV_LOCK_DIR: dir, TIERMV_LOG: "json" }),
  );
  rmSync(dir, { recursive: true, force: true });
  return `| W4 | one task of 1,000,000 entries (1,000 distinct tiny files, file:// target) | ${fmt(m.wall)} s | ${fmt(1_000_000 / m.wall, 0)} entries/s | **${fmt(m.rssMiB, 0)} MiB** | ${fmt(m.cpu)} s |`;
}

async function main() {
  ensureTools();
  mkdirSync(WORK, { recursive: true });
  const names = (only ?? ["W1", "W2", "W3", "W4"]).filter((n) => n !== "W4");
  console.log(`Generating workloads ${names.join(", ")} under ${WORK} (once)`);
  const loads = names.length > 0 ? workloads(WORK, names) : [];
  const jvm = ["-Xms1g", "-Xmx4g", "-XX:+UseParallelGC", "-XX:+AlwaysPreTouch"];
  const s3 = await startS3proxy({ dataDir: join(WORK, "s3data"), jvmFlags: jvm });
  serverPid = s3.pid;
  console.log(`s3proxy on ${s3.endpoint} (JVM ${jvm.join(" ")})`);
  const rows: Row[] = [];
  let ceiling = "";
  try {
    const probeBucket = await freshBucket(s3.endpoint);
    const probe = Bun.spawnSync(
      [process.execPath, `${REPO}bench/ceiling.ts`, s3.endpoint, probeBucket, "10"],
      { env: baseEnv as Record<string, string> },
    );
    const c = JSON.parse(probe.stdout.toString());
    ceiling = `${fmt(c.perSecond, 0)} PUT/s (16 KiB bodies, 64 in flight, AWS SDK, 10 s)`;
    console.log(`ceiling: ${ceiling}`);
    rmSync(join(s3.dataDir, probeBucket), { recursive: true, force: true });
    let n = 0;
    for (const w of loads) {
      const all: Tool[] =
        w.name === "W1" ? ["tiermv", "rclone", "aws", "sdk-loop"] : ["tiermv", "rclone", "aws"];
      const tools = all.filter((t) => !onlyTools || onlyTools.includes(t));
      const byTool = new Map<Tool, Measurement[]>(tools.map((t) => [t, []]));
      for (let round = 0; round < rounds; round++) {
        const order = tools.map((_, i) => tools[(i + round) % tools.length] as Tool);
        for (const tool of order) {
          const bucket = await freshBucket(s3.endpoint);
          const m = await runTool(tool, w, s3.endpoint, bucket, ++n);
          const objects = await countObjects(s3.endpoint, bucket);
          if (objects !== w.files)
            throw new Error(`${tool} on ${w.name}: ${objects} objects, expected ${w.files}`);
          rmSync(join(s3.dataDir, bucket), { recursive: true, force: true });
          byTool.get(tool)?.push(m);
          console.log(
            `${w.name} round ${round + 1} ${tool.padEnd(16)} ${fmt(m.wall, 2)} s  ${fmt(w.files / m.wall, 0)} files/s  ${fmt(w.bytes / 1048576 / m.wall)} MiB/s  rss ${fmt(m.rssMiB, 0)} MiB  cpu ${fmt(m.cpu)} s  server cpu ${fmt(m.serverCpu)} s  busy ${fmt(busy(m) * 100, 0)}%`,
          );
        }
      }
      for (const [tool, runs] of byTool) rows.push({ workload: w, tool, runs });
    }
  } finally {
    await s3.stop();
  }
  const w4row = !only || only.includes("W4") ? await w4() : "";
  writeReport(rows, ceiling, w4row);
}

function writeReport(rows: Row[], ceiling: string, w4row: string) {
  const date = new Date().toISOString().slice(0, 10);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const version = (cmd: string[]) =>
    Bun.spawnSync(cmd, { env: baseEnv as Record<string, string> })
      .stdout.toString()
      .split("\n")[0]
      ?.trim();
  const lines = [
    `# tiermv benchmark, ${date}`,
    "",
    `Machine: ${cpus().length} cores (${cpu}), ${fmt(totalmem() / 1024 ** 3, 0)} GiB RAM, local disk; shared and noisy, so read the ratios, not the absolute figures.`,
    `Server: s3proxy 2.6.0, filesystem backend, on loopback, same machine. Tools: tiermv (Bun ${Bun.version}), ${version(["rclone", "version"])}, ${version(["/usr/bin/aws", "--version"])}.`,
    `Ceiling probe: ${ceiling}.`,
    `Each tool ran ${rounds} times per workload in rotating order into a fresh bucket; medians shown. tiermv = \`submit\` + \`run --once\` (one node, the full xattr protocol, Content-MD5 on every PUT and part). sdk-loop (W1) = \`bench/sdk_put_loop.ts\`, a Bun loop doing nothing but read, MD5 and SDK PUT per file: not a peer, the least a Bun + SDK client pays.`,
    "",
    "| workload | tool | files/s | MiB/s | peak RSS | CPU s | server CPU s | cores busy | vs best peer (files/s, MiB/s) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  const notes: string[] = [];
  const byWorkload = new Map<string, Row[]>();
  for (const r of rows)
    byWorkload.set(r.workload.name, [...(byWorkload.get(r.workload.name) ?? []), r]);
  for (const [name, group] of byWorkload) {
    const stat = (r: Row) => {
      const wall = median(r.runs.map((m) => m.wall));
      return {
        fps: r.workload.files / wall,
        mibs: r.workload.bytes / 1048576 / wall,
        rss: median(r.runs.map((m) => m.rssMiB)),
        cpu: median(r.runs.map((m) => m.cpu)),
        serverCpu: median(r.runs.map((m) => m.serverCpu)),
        busy: median(r.runs.map(busy)),
      };
    };
    const peers = group.filter((r) => r.tool === "rclone" || r.tool === "aws").map(stat);
    if (peers.length === 0) continue;
    const bestFps = Math.max(...peers.map((p) => p.fps));
    const bestMibs = Math.max(...peers.map((p) => p.mibs));
    for (const r of group) {
      const s = stat(r);
      const ratio = r.tool.startsWith("tiermv")
        ? `${fmt(s.fps / bestFps, 2)}x, ${fmt(s.mibs / bestMibs, 2)}x`
        : "";
      lines.push(
        `| ${name} (${r.workload.description}) | ${r.tool} | ${fmt(s.fps, 0)} | ${fmt(s.mibs)} | ${fmt(s.rss, 0)} MiB | ${fmt(s.cpu)} | ${fmt(s.serverCpu)} | ${fmt(s.busy * 100, 0)}% | ${ratio} |`,
      );
    }
  }
  if (notes.length > 0) lines.push("", ...notes);
  if (w4row)
    lines.push(
      "",
      "| workload | what | wall | rate | peak RSS | CPU |",
      "|---|---|---:|---:|---:|---:|",
      w4row,
    );
  const text = `${lines.join("\n")}\n`;
  // Partial runs (--only, --tools) never overwrite the day's full results: they go to bench/work/
  // (git-ignored and outside Biome's checks, so they cannot break `npm test`).
  const partial = Boolean(only || onlyTools);
  const dir = join(REPO, partial ? "bench/work" : "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date}${partial ? "-partial" : ""}.md`);
  writeFileSync(file, text);
  console.log(`\n${text}\nWritten to ${file}`);
}

await main();
