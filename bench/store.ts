/**
 * The store side of the benchmarks: the environment every tool runs with, the s3proxy JVM's
 * flags, fresh buckets, object counts, and the ceiling probe (bench/ceiling.ts) run as a process.
 */

import { rmSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import {
  ACCESS_KEY,
  type S3proxyBackend,
  SECRET_KEY,
  startS3proxy,
} from "../test/services/s3proxy.ts";
import { s3Client } from "../test/services/shared.ts";

/** s3proxy for benchmarks: a heap that never resizes mid-run, the throughput collector. */
export const BENCH_JVM = ["-Xms1g", "-Xmx4g", "-XX:+UseParallelGC", "-XX:+AlwaysPreTouch"];

// The machine's CA-bundle variables break rclone even on plain-HTTP loopback: unset them here.
const CA_VARS = [
  "AWS_CA_BUNDLE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
  "REQUESTS_CA_BUNDLE",
];

/** The environment of every tool and script a benchmark starts: the store's credentials. */
export const BENCH_ENV: Record<string, string | undefined> = {
  ...process.env,
  AWS_ACCESS_KEY_ID: ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: SECRET_KEY,
  AWS_REGION: "us-east-1",
};
for (const v of CA_VARS) delete BENCH_ENV[v];

/** The store a benchmark runs against: s3proxy on loopback (`direct`), maybe behind a proxy. */
export interface BenchStore {
  direct: string;
  endpoint: string;
  dataDir: string;
  serverPid: number;
  port: number;
}

/** Runs `fn` with a fresh s3proxy of `backend` (data under `work`), stopped afterwards. */
export async function withStore<T>(
  backend: S3proxyBackend,
  work: string,
  fn: (store: BenchStore) => Promise<T>,
): Promise<T> {
  // Per process: two runs at once (different workloads) must not delete each other's store.
  const dataDir = join(work, `s3data-${backend}-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  const s3 = await startS3proxy({ backend, dataDir, jvmFlags: BENCH_JVM });
  console.log(`s3proxy ${backend} on ${s3.endpoint} (JVM ${BENCH_JVM.join(" ")})`);
  try {
    return await fn({
      direct: s3.endpoint,
      endpoint: s3.endpoint,
      dataDir,
      serverPid: s3.pid,
      port: s3.port,
    });
  } finally {
    await s3.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

let bucketSeq = 0;

/** Creates a bucket of a new name (direct to the server, never through a delay proxy). */
export async function freshBucket(endpoint: string): Promise<string> {
  const name = `bench-${Date.now().toString(36)}-${++bucketSeq}`;
  const client = s3Client(endpoint);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return name;
}

/** Objects in `bucket` (s3proxy's filesystem backend also lists directories: not counted). */
export async function countObjects(endpoint: string, bucket: string): Promise<number> {
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

export interface Ceiling {
  puts: number;
  perSecond: number;
  mibs: number;
}

/**
 * The store's ceiling as a minimal client sees it through `endpoint`: PUTs of `bodyBytes` with
 * `inFlight` requests for `seconds` (bench/ceiling.ts; `warmupSeconds` first for a fresh JVM).
 */
export function probeCeiling(
  endpoint: string,
  bucket: string,
  load: { bodyBytes: number; inFlight: number; seconds: number; warmupSeconds: number },
): Ceiling {
  const script = new URL("./ceiling.ts", import.meta.url).pathname;
  const { bodyBytes, inFlight, seconds, warmupSeconds } = load;
  const args = [endpoint, bucket, seconds, bodyBytes, inFlight, warmupSeconds].map(String);
  const probe = Bun.spawnSync([process.execPath, script, ...args], {
    env: BENCH_ENV as Record<string, string>,
  });
  if (probe.exitCode !== 0) throw new Error(`ceiling probe failed: ${probe.stderr.toString()}`);
  return JSON.parse(probe.stdout.toString()) as Ceiling;
}
