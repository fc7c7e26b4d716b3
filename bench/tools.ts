/**
 * The tools a benchmark runs, by label: tiermv (its defaults) and tiermv-tuned, rclone and
 * rclone-tuned, aws and aws-tuned (aws-cli v2), and sdk-loop (bench/sdk_put_loop.ts, not a peer:
 * the least a Bun + SDK client pays per file). "Tuned" means the workload family's settings
 * below; a plain label means the tool's own defaults. Each run is one process tree under GNU
 * time (bench/measure.ts), against `endpoint` (s3proxy, or the delay proxy in front of it).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ACCESS_KEY, SECRET_KEY } from "../test/services/s3proxy.ts";
import {
  initSpool,
  type Measurement,
  measure,
  TIERMV,
  TIERMV_HEAP,
  withProjectBun,
} from "./measure.ts";
import { BENCH_ENV } from "./store.ts";
import type { Workload } from "./workloads.ts";

export const TOOLS = [
  "tiermv",
  "tiermv-tuned",
  "rclone",
  "rclone-tuned",
  "aws",
  "aws-tuned",
  "sdk-loop",
] as const;
export type Tool = (typeof TOOLS)[number];

/** Peers: the tools a tiermv ratio is taken against. */
export const isPeer = (tool: Tool) => tool.startsWith("rclone") || tool.startsWith("aws");

interface Tuning {
  /** tiermv's config sections (s3, migrate) over its defaults. */
  tiermv: { s3?: Record<string, number>; migrate?: Record<string, number> };
  rclone: string[];
  aws: string;
  /** sdk-loop's files in flight. */
  loop: number;
}

const MiB = 1024 * 1024;
/** Settings of the "-tuned" tools per workload family (the part of the name before "-"). */
const TUNING: Record<string, Tuning> = {
  W1: {
    tiermv: { migrate: { concurrency: 32 } },
    rclone: ["--transfers", "32", "--checkers", "32"],
    aws: "max_concurrent_requests = 32",
    loop: 32,
  },
  // The settings for rclone, and tiermv's set to match them: single PUTs up to 200 MiB
  // (rclone's --s3-upload-cutoff), 16 MiB parts, 32 files and 8 parts in flight.
  W2: {
    tiermv: {
      s3: { multipartThreshold: 200 * MiB, partSize: 16 * MiB, partConcurrency: 8 },
      migrate: { concurrency: 32 },
    },
    rclone: ["--transfers", "32", "--s3-upload-concurrency", "8", "--s3-chunk-size", "16M"],
    aws: "max_concurrent_requests = 32\n  multipart_threshold = 16MB\n  multipart_chunksize = 16MB",
    loop: 32,
  },
  // Single PUTs up to 200 MiB, as rclone's default --s3-upload-cutoff: s3proxy's filesystem
  // backend copies every byte of a multipart upload once more when it completes.
  W3: {
    tiermv: {
      s3: { multipartThreshold: 200 * MiB, partSize: 16 * MiB, partConcurrency: 4 },
      migrate: { concurrency: 16 },
    },
    rclone: ["--transfers", "16", "--checkers", "16", "--s3-upload-concurrency", "4"],
    aws: "max_concurrent_requests = 32\n  multipart_threshold = 16MB\n  multipart_chunksize = 16MB",
    loop: 16,
  },
  // The distant store (issue 2.5): rclone and aws-cli at 32 transfers/requests.
  W5: {
    tiermv: { migrate: { concurrency: 32 } },
    rclone: ["--transfers", "32", "--s3-upload-concurrency", "8"],
    aws: "max_concurrent_requests = 32",
    loop: 32,
  },
};
const tuningOf = (w: Workload) => TUNING[w.name.split("-")[0] ?? ""] ?? (TUNING.W1 as Tuning);

export interface RunSpec {
  tool: Tool;
  workload: Workload;
  /** What the tool talks to (s3proxy, or the delay proxy). */
  endpoint: string;
  bucket: string;
  /** A scratch directory of this run (config, spool). */
  dir: string;
  serverPid?: number;
  /** tiermv only: config sections over the tool's settings (scale-out's fixed concurrency). */
  tiermvConfig?: Record<string, unknown>;
}

/** tiermv's config for a run: defaults, or the family's tuning, plus `extra`. */
export function tiermvConfig(spec: RunSpec, nodes = ["a"]): string {
  const t = spec.tool === "tiermv-tuned" ? tuningOf(spec.workload).tiermv : {};
  const extra = spec.tiermvConfig ?? {};
  const config = join(spec.dir, "config.json");
  const doc = {
    spool: join(spec.dir, "spool"),
    root: spec.workload.dir,
    target: `s3://${spec.bucket}/${spec.workload.name}`,
    nodes,
    ...extra,
    s3: { endpoint: spec.endpoint, ...t.s3, ...(extra.s3 as object) },
    migrate: { ...t.migrate, ...(extra.migrate as object) },
  };
  writeFileSync(config, JSON.stringify(doc));
  initSpool(config);
  return config;
}

/** The environment tiermv runs with for `config`. */
export function tiermvEnv(config: string, dir: string) {
  return withProjectBun({
    ...BENCH_ENV,
    TIERMV_CONFIG: config,
    TIERMV_LOCK_DIR: dir,
    TIERMV_LOG: "json",
  });
}

export function rcloneEnv(endpoint: string) {
  return {
    ...BENCH_ENV,
    RCLONE_CONFIG_BENCH_TYPE: "s3",
    RCLONE_CONFIG_BENCH_PROVIDER: "Other",
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: ACCESS_KEY,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: SECRET_KEY,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
    RCLONE_CONFIG_FILE: "/dev/null",
  };
}

/** The command line and environment of one run (a fresh spool for tiermv). */
export function commandOf(spec: RunSpec): {
  cmd: string[];
  env: Record<string, string | undefined>;
} {
  const { tool, workload: w, endpoint, bucket, dir } = spec;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t = tuningOf(w);
  const dest = `${bucket}/${w.name}`;
  if (tool === "tiermv" || tool === "tiermv-tuned") {
    const config = tiermvConfig(spec);
    const script = `${TIERMV} submit --node a --quiet ${w.dir} > /dev/null && ${TIERMV} run --node a --once --quiet`;
    return { cmd: ["sh", "-c", script], env: tiermvEnv(config, dir) };
  }
  if (tool === "sdk-loop") {
    const loop = new URL("./sdk_put_loop.ts", import.meta.url).pathname;
    const args = [endpoint, bucket, w.name, w.dir, String(t.loop)];
    return { cmd: [process.execPath, loop, ...args], env: { ...BENCH_ENV, ...TIERMV_HEAP } };
  }
  if (tool === "rclone" || tool === "rclone-tuned") {
    // No --no-traverse: on an empty destination rclone's one listing is cheaper than its HEAD
    // per file (which cost s3proxy more CPU than tiermv's requests in the 2026-11-25 run).
    const tuning = tool === "rclone-tuned" ? t.rclone : [];
    const args = ["copy", w.dir, `bench:${dest}`, "--s3-no-check-bucket", "--stats", "0"];
    return { cmd: ["rclone", ...args, ...tuning], env: rcloneEnv(endpoint) };
  }
  const args = ["s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", endpoint];
  return {
    cmd: ["/usr/bin/aws", ...args, w.dir, `s3://${dest}`],
    env: awsEnv(spec, t),
  };
}

/** aws-cli's environment: a config file in the run's directory (path style, the tuning). */
function awsEnv(spec: RunSpec, t: Tuning) {
  const awsConfig = join(spec.dir, "aws-config");
  const s3Section = spec.tool === "aws-tuned" ? `  ${t.aws}\n` : "";
  writeFileSync(
    awsConfig,
    `[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n${s3Section}`,
  );
  return { ...BENCH_ENV, AWS_CONFIG_FILE: awsConfig };
}

/**
 * A peer downloading the workload's objects (`bucket/<workload name>/...`) into `dest`, the
 * other direction of commandOf (rclone or aws, with the workload family's tuning when -tuned).
 */
export function downloadCommandOf(
  spec: RunSpec,
  dest: string,
): { cmd: string[]; env: Record<string, string | undefined> } {
  const { tool, workload: w, endpoint, bucket, dir } = spec;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t = tuningOf(w);
  const src = `${bucket}/${w.name}`;
  if (tool === "rclone" || tool === "rclone-tuned") {
    const tuning = tool === "rclone-tuned" ? t.rclone : [];
    const args = ["copy", `bench:${src}`, dest, "--stats", "0", ...tuning];
    return { cmd: ["rclone", ...args], env: rcloneEnv(endpoint) };
  }
  if (tool !== "aws" && tool !== "aws-tuned") throw new Error(`${tool} is not a download peer`);
  const args = ["s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", endpoint];
  // s3proxy's filesystem backend lists directories as keys ending in "/": not objects.
  const skipDirs = ["--exclude", "*/"];
  return { cmd: ["/usr/bin/aws", ...args, ...skipDirs, `s3://${src}`, dest], env: awsEnv(spec, t) };
}

export function runTool(spec: RunSpec): Promise<Measurement> {
  const { cmd, env } = commandOf(spec);
  return measure(cmd, env, spec.serverPid);
}

/**
 * Requests each tool keeps in flight at most, small files (one request each) and large files
 * (parts), with its settings here: the latency bound is this divided by the delay.
 */
export function inFlightOf(
  tool: Tool,
  w: Workload,
): { small: number; parts: number; partMiB: number } {
  // tiermv: 32 files in flight (default and tuned); streamed parts: files x partConcurrency (4),
  // capped at 16 by the byte budget (64 MiB, 4 MiB per streamed request: jobs/targets/s3_body.ts).
  if (tool.startsWith("tiermv")) return { small: 32, parts: Math.min(w.files * 4, 16), partMiB: 8 };
  const tuned = tool.endsWith("-tuned");
  if (tool.startsWith("rclone")) {
    const transfers = tuned ? 32 : 4;
    const upload = tuned ? 8 : 4;
    return { small: transfers, parts: Math.min(w.files, transfers) * upload, partMiB: 5 };
  }
  const requests = tuned ? 32 : 10;
  return { small: requests, parts: requests, partMiB: 8 };
}
