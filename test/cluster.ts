/**
 * Several real `tiermv` node processes on one spool, each reaching s3proxy through its own fault
 * proxy, and an invariant checker that reads xattrs and the bucket with its own S3 client and
 * JSON parsing (not the product's schemas), so it cannot share the product's mistakes.
 */

import { expect } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Subprocess } from "bun";
import { createRuntime } from "../runtime/bun.ts";
import {
  type CliResult,
  cli,
  filesUnder,
  type Json,
  lastJsonLine,
  type Sandbox,
  sandbox,
  spawnCli,
  TEST_S3,
  waitFor,
} from "./helpers.ts";
import { currentOf, heldOf, recordsOf } from "./records.ts";
import { type FaultProxy, startFaultProxy } from "./services/fault_proxy.ts";
import { newBucket, s3Client, s3Service } from "./services/shared.ts";

const rt = createRuntime();

/** A cluster of node processes; `await using` stops its proxies and processes whatever happens. */
export interface Cluster extends AsyncDisposable {
  box: Sandbox;
  bucket: string;
  endpoint: string;
  nodes: string[];
  proxies: Record<string, FaultProxy>;
  configOf(node: string): string;
  run(node: string, env?: Record<string, string>): Promise<CliResult>;
  /** `run --json` of one node, with its summary parsed. */
  runJson(node: string, env?: Record<string, string>): Promise<CliResult & { json: Json }>;
  /** Starts `run --json` of one node in the background; disposal kills it if still running. */
  spawnRun(node: string): Subprocess<"ignore", "pipe", "pipe">;
  submit(node: string, paths: string[]): Promise<CliResult>;
  /** Runs every node (concurrently) until all queues and journals are empty. */
  quiesce(maxRounds?: number): Promise<number>;
  /** Kills the node processes it spawned and stops the proxies (idempotent). */
  stop(): Promise<void>;
}

export async function startCluster(
  nodes: string[],
  extra: Record<string, unknown> = {},
): Promise<Cluster> {
  const s3 = await s3Service();
  const bucket = await newBucket(s3.endpoint);
  const box = sandbox({ target: `s3://${bucket}/m`, endpoint: s3.endpoint, nodes, extra });
  const proxies: Record<string, FaultProxy> = {};
  const configs: Record<string, string> = {};
  const storeSkew = (extra.s3 as { storeSkewLimitMs?: number } | undefined)?.storeSkewLimitMs;
  for (const node of nodes) {
    // The proxy refuses a stalled request past the store's skew limit, as the store would.
    const proxy = await startFaultProxy(s3.port, {
      skewLimitMs: storeSkew ?? TEST_S3.storeSkewLimitMs,
    });
    proxies[node] = proxy;
    const path = join(box.dir, `config-${node}.json`);
    const document = JSON.parse(readFileSync(box.configPath, "utf8"));
    writeFileSync(
      path,
      JSON.stringify({ ...document, s3: { ...document.s3, endpoint: proxy.endpoint } }),
    );
    configs[node] = path;
  }
  const configOf = (node: string) => configs[node] ?? box.configPath;
  const runArgs = (node: string) => ["run", "--node", node, "--json", "--config", configOf(node)];
  const run = (node: string, env: Record<string, string> = {}) =>
    cli(runArgs(node), { ...box.env, ...env });
  const spawned: Subprocess[] = [];
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      for (const proc of spawned) proc.kill("SIGKILL");
      await Promise.all(spawned.map((proc) => proc.exited));
      await Promise.all(Object.values(proxies).map((p) => p.stop()));
    })();
    return stopped;
  };
  const cluster: Cluster = {
    box,
    bucket,
    endpoint: s3.endpoint,
    nodes,
    proxies,
    configOf,
    run,
    async runJson(node, env) {
      const result = await run(node, env);
      return { ...result, json: lastJsonLine(result.stdout) };
    },
    spawnRun(node) {
      const proc = spawnCli(runArgs(node), box.env);
      spawned.push(proc);
      return proc;
    },
    submit: (node, paths) =>
      cli(["submit", "--node", node, "--config", configOf(node), ...paths], box.env),
    async quiesce(maxRounds = 40) {
      for (let round = 1; round <= maxRounds; round++) {
        if (isQuiet(box.spool, nodes)) return round - 1;
        // Only cleanups waiting for the late-write window left: wait for the window, not rounds.
        if (onlyWindowsLeft(box.spool, nodes))
          await waitFor(
            () => Date.now() >= windowsDue(box.spool, nodes),
            "the late-write windows",
            60_000,
          );
        const results = await Promise.all(nodes.map((n) => run(n)));
        for (const r of results)
          if (r.code !== 0) throw new Error(`run failed (${r.code}): ${r.stderr}`);
      }
      throw new Error(`Not quiet after ${maxRounds} rounds`);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return cluster;
}

/**
 * Runs every node until all is done, then checks the invariants: no violation and `committed`
 * files committed. What most protocol tests end with.
 */
export async function expectAllCommitted(c: Cluster, committed: number): Promise<InvariantReport> {
  await c.quiesce();
  const report = await checkInvariants(c);
  expect(report.violations).toEqual([]);
  expect(report.committed).toBe(committed);
  return report;
}

function countLines(path: string): number {
  if (!existsSync(path)) return 0;
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0).length;
}

/** Cleanups of `nodes` waiting for the late-write window (windows/*.json). */
export function waitingWindows(spool: string, nodes: string[]): number {
  let count = 0;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "windows");
    if (existsSync(dir)) count += readdirSync(dir).filter((n) => n.endsWith(".json")).length;
  }
  return count;
}

/** No pending or running task, every journal line processed, no cleanup waiting. */
export function isQuiet(spool: string, nodes: string[]): boolean {
  if (waitingWindows(spool, nodes) > 0) return false;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node);
    const tasks = (q: string) =>
      existsSync(join(dir, q)) ? readdirSync(join(dir, q)).filter((n) => n.endsWith(".task")) : [];
    if (tasks("pending").length > 0 || tasks("running").length > 0) return false;
    const cursorFile = join(dir, "failed-files.cursor");
    const cursor = existsSync(cursorFile) ? Number(readFileSync(cursorFile, "utf8").trim()) : 0;
    if (countLines(join(dir, "failed-files.jsonl")) !== cursor) return false;
  }
  return true;
}

/** Nothing left but cleanups waiting for their window. */
function onlyWindowsLeft(spool: string, nodes: string[]): boolean {
  if (waitingWindows(spool, nodes) === 0) return false;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "pending");
    if (existsSync(dir) && readdirSync(dir).some((n) => n.endsWith(".task"))) return false;
  }
  return true;
}

/** When the last waiting window of `nodes` is due (its reading plus the test window). */
function windowsDue(spool: string, nodes: string[]): number {
  let due = 0;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "windows");
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
      const since = JSON.parse(readFileSync(join(dir, name), "utf8")).since;
      due = Math.max(due, since + TEST_S3.lateWriteWindowMs);
    }
  }
  return due;
}

export interface InvariantReport {
  files: number;
  committed: number;
  objects: number;
  locks: number;
  violations: string[];
}

/**
 * Checks I1 (the current state, when it is a commit for the file's path and matches its size,
 * mtime and inode, names an object (version) with the file's bytes and the committing attempt),
 * no epoch left held (undecided or waiting for cleanup), every file committed (unless allowed),
 * and no object that no committed state names (unless allowed). Reads protocol v2's records
 * with its own parsing (test/records.ts).
 */
export async function checkInvariants(
  c: Cluster,
  options: {
    uncommitted?: (path: string) => boolean;
    orphanAllowed?: (key: string) => boolean;
  } = {},
): Promise<InvariantReport> {
  const client = s3Client(c.endpoint);
  const report: InvariantReport = { files: 0, committed: 0, objects: 0, locks: 0, violations: [] };
  const named = new Set<string>();
  for (const path of filesUnder(c.box.src)) {
    report.files++;
    const stat = await rt.fs.stat(path);
    const records = await recordsOf(path);
    const state = currentOf(records)?.state ?? null;
    const held = heldOf(records);
    if (held || records.v1Lock) {
      report.locks++;
      report.violations.push(`epoch ${held?.n} left held on ${path}`);
    }
    const ownKey = `m/${path.slice(c.box.src.length + 1)}`;
    const matches =
      state !== null &&
      state.key === ownKey &&
      state.size === stat.size &&
      state.mtimeNs === stat.mtimeNs &&
      state.ino === stat.ino;
    if (!matches) {
      if (!options.uncommitted?.(path)) report.violations.push(`not committed: ${path}`);
      continue;
    }
    report.committed++;
    const key = String(state.key);
    named.add(key);
    const VersionId = state.versionId;
    try {
      const head = await client.send(
        new HeadObjectCommand({ Bucket: c.bucket, Key: key, VersionId }),
      );
      if (head.Metadata?.attempt !== state.attempt) {
        report.violations.push(
          `I1: ${key} carries attempt ${head.Metadata?.attempt}, state says ${state.attempt}`,
        );
      }
      const body = await (
        await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key, VersionId }))
      ).Body?.transformToByteArray();
      if (!body || Buffer.compare(Buffer.from(body), readFileSync(path)) !== 0) {
        report.violations.push(`I1: ${key} differs from ${path}`);
      }
    } catch (err) {
      report.violations.push(
        `I1: committed ${path} has no object at ${key}: ${(err as Error).name}`,
      );
    }
  }
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: c.bucket, ContinuationToken: token }),
    );
    for (const item of page.Contents ?? []) {
      const key = item.Key ?? "";
      // s3proxy's filesystem backend lists directories as "dir/" keys: not objects.
      if (key.endsWith("/")) continue;
      report.objects++;
      if (!named.has(key) && !options.orphanAllowed?.(key))
        report.violations.push(`orphan object ${key}`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return report;
}
