/**
 * Several real `tiermv` node processes on one spool, each reaching s3proxy through its own fault
 * proxy, and an invariant checker that reads xattrs and the bucket with its own S3 client and
 * JSON parsing (not the product's schemas), so it cannot share the product's mistakes.
 */

import { expect } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Subprocess } from "bun";
import type { CliRuntime } from "./cli_runtime.ts";
import { type ClusterKind, LOCAL, type Placement } from "./cluster_kinds.ts";
import {
  type CliResult,
  cli,
  type Json,
  lastJsonLine,
  type Sandbox,
  sandbox,
  spawnCli,
  TEST_S3,
  waitFor,
} from "./helpers.ts";
import { checkInvariants, type InvariantReport } from "./invariants.ts";
import { type FaultProxy, startFaultProxy } from "./services/fault_proxy.ts";
import { isQuiet, onlyWindowsLeft, windowsDue } from "./spool_quiet.ts";

export { checkInvariants, type InvariantReport } from "./invariants.ts";
export { isQuiet, waitingWindows, windowsDue } from "./spool_quiet.ts";

/** A cluster of node processes; `await using` stops its proxies and processes whatever happens. */
export interface Cluster extends AsyncDisposable {
  box: Sandbox;
  bucket: string;
  endpoint: string;
  nodes: string[];
  proxies: Record<string, FaultProxy>;
  /** Where it runs: the store, the bucket's versioning, each node's mount namespace. */
  place: Placement;
  /** The checker's own S3 client for the cluster's store. */
  s3(): S3Client;
  configOf(node: string): string;
  /** `box.setConfig` that reaches the nodes too (their configs are copies of the box's). */
  setConfig(patch: Record<string, unknown>): void;
  /** Any `tiermv` command as node `node` (in its namespace, with its config and store access). */
  cli(node: string, args: string[], env?: Record<string, string>): Promise<CliResult>;
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

/**
 * `kind`: where the nodes run (test/cluster_kinds.ts). `runtimes`: the runtime each node's
 * processes (run, submit, rollback through `cli`) run
 * under; Bun for a node not named.
 */
export async function startCluster(
  nodes: string[],
  extra: Record<string, unknown> = {},
  kind: ClusterKind = LOCAL,
  options: { runtimes?: Record<string, CliRuntime> } = {},
): Promise<Cluster> {
  const place = await kind.place();
  const bucket = place.bucket;
  const s3 = { endpoint: place.endpoint, port: place.port };
  const box = sandbox({
    target: `s3://${bucket}/m`,
    endpoint: s3.endpoint,
    nodes,
    extra,
    data: place.data,
  });
  Object.assign(box.env, place.env);
  const proxies: Record<string, FaultProxy> = {};
  const configs: Record<string, string> = {};
  const storeSkew = (extra.s3 as { storeSkewLimitMs?: number } | undefined)?.storeSkewLimitMs;
  for (const node of nodes) {
    // The proxy refuses a stalled request past the store's skew limit, as the store would.
    const proxy = await startFaultProxy(s3.port, {
      skewLimitMs: storeSkew ?? TEST_S3.storeSkewLimitMs,
    });
    proxies[node] = proxy;
    configs[node] = join(box.dir, `config-${node}.json`);
  }
  // Each node's config is the box's with the store reached through the node's own proxy.
  const writeNodeConfigs = () => {
    const document = JSON.parse(readFileSync(box.configPath, "utf8"));
    for (const node of nodes) {
      const endpoint = proxies[node]?.endpoint;
      const nodeConfig = { ...document, s3: { ...document.s3, endpoint } };
      writeFileSync(configs[node] ?? "", JSON.stringify(nodeConfig));
    }
  };
  writeNodeConfigs();
  const configOf = (node: string) => configs[node] ?? box.configPath;
  const runtimeOf = (node: string) => ({ runtime: options.runtimes?.[node] ?? "bun" });
  const runArgs = (node: string) => ["run", "--node", node, "--json", "--config", configOf(node)];
  const nodeCli = (node: string, args: string[], env: Record<string, string> = {}) =>
    cli(args, { ...box.env, ...env }, { nsPid: place.nsPidOf(node), ...runtimeOf(node) });
  const run = (node: string, env: Record<string, string> = {}) => nodeCli(node, runArgs(node), env);
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
    place,
    s3: place.client,
    configOf,
    setConfig(patch) {
      box.setConfig(patch);
      writeNodeConfigs();
    },
    cli: (node, args, env) =>
      nodeCli(node, args.includes("--config") ? args : [...args, "--config", configOf(node)], env),
    run,
    async runJson(node, env) {
      const result = await run(node, env);
      return { ...result, json: lastJsonLine(result.stdout) };
    },
    spawnRun(node) {
      const proc = spawnCli(runArgs(node), box.env, {
        nsPid: place.nsPidOf(node),
        ...runtimeOf(node),
      });
      spawned.push(proc);
      return proc;
    },
    submit: (node, paths) =>
      nodeCli(node, [
        "submit",
        "--node",
        node,
        "--config",
        configOf(node),
        ...paths.map(box.nodePath),
      ]),
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
