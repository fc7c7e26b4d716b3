/**
 * A target unavailable as a whole (issue 2.4): wrong credentials, a missing bucket, an endpoint
 * where nothing listens, a store that stops answering. Confirmed by the target's probe, it stops
 * the tick before more files are touched: the task stays pending, nothing is journalled and no
 * epoch is left held (the attempt's epoch is given back, decided `aborted`) unless a write may
 * have been sent (then the protocol's rule wins: journalled, held for cleanup); one message names
 * endpoint, bucket and what to check; `run` exits 1; status, /metrics and /readyz say it; --watch
 * backs off.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  cli,
  lastJsonLine,
  type Sandbox,
  sandbox,
  spawnCli,
  startServe,
  streamText,
} from "../helpers.ts";
import { holderOf, stateOf } from "../records.ts";
import { type FaultProxy, startFaultProxy } from "../services/fault_proxy.ts";
import { newBucket, s3Service } from "../services/shared.ts";

let endpoint = "";
let proxy: FaultProxy;

beforeAll(async () => {
  const s3 = await s3Service();
  endpoint = s3.endpoint;
  proxy = await startFaultProxy(s3.port);
});
afterAll(() => proxy.stop());

const tasksIn = (box: Sandbox, queue: string) => {
  const dir = join(box.spool, "nodes/a", queue);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".task")) : [];
};

const journal = (box: Sandbox) => {
  const path = join(box.spool, "nodes/a/failed-files.jsonl");
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean) : [];
};

/** A port where nothing listens (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function expectStopped(box: Sandbox, files: string[], env: Record<string, string>) {
  const run = await cli(["run", "--node", "a", "--once", "--json"], { ...box.env, ...env });
  expect(run.code).toBe(1);
  const summary = lastJsonLine(run.stdout);
  expect(summary.unavailable?.what).toBe("target");
  expect(summary.counts).toMatchObject({ migrated: 0, failed: 0, error: 0 });
  // The task waits in pending/; nothing is journalled and no file is left held.
  expect(tasksIn(box, "pending")).toHaveLength(1);
  expect(tasksIn(box, "running")).toEqual([]);
  expect(tasksIn(box, "failed")).toEqual([]);
  expect(journal(box)).toEqual([]);
  for (const path of files) {
    expect(await holderOf(path)).toBeNull();
    expect(await stateOf(path)).toBeNull();
  }
  return { run, summary };
}

test("wrong credentials: the tick stops, the task stays pending, nothing journalled or held; one message names endpoint, bucket and the credentials", async () => {
  const bucket = await newBucket(endpoint);
  const box = sandbox({ target: `s3://${bucket}/archive`, endpoint });
  const files = [box.file("a.txt", "a"), box.file("b.txt", "b"), box.file("c.txt", "c")];
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const wrong = { AWS_SECRET_ACCESS_KEY: "not-the-secret" };
  const { run } = await expectStopped(box, files, wrong);
  const lines = run.stderr.split("\n").filter((l) => l.includes("is unavailable"));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines[0]).toContain(`bucket "${bucket}"`);
  expect(lines[0]).toContain(endpoint);
  expect(lines[0]).toContain("SignatureDoesNotMatch");
  expect(lines[0]).toContain("Check the credentials");
  // status names it; /readyz answers 503 with the reason; /metrics has the gauge.
  const status = await cli(["status"], box.env);
  expect(status.stdout).toContain("target unavailable");
  await using served = await startServe({ ...box, env: { ...box.env, ...wrong } });
  const ready = await fetch(`${served.url}/readyz`);
  expect(ready.status).toBe(503);
  const body = await ready.json();
  expect(body.checks.target.ok).toBe(false);
  expect(body.checks.target.error).toContain("Check the credentials");
  const metrics = await (await fetch(`${served.url}/metrics`)).text();
  expect(metrics).toContain('tiermv_unavailable{node="a",what="target"} 1');
  // Credentials fixed: the same task migrates every file.
  const again = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(again.code).toBe(0);
  expect(lastJsonLine(again.stdout).counts.migrated).toBe(3);
  expect((await cli(["status"], box.env)).stdout).not.toContain("target unavailable");
});

test("a missing bucket: the tick stops with the task pending; the message says to check the bucket", async () => {
  const box = sandbox({ target: "s3://no-such-bucket-tiermv/archive", endpoint });
  const files = [box.file("a.txt", "a"), box.file("b.txt", "b")];
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const { run } = await expectStopped(box, files, {});
  expect(run.stderr).toContain('bucket "no-such-bucket-tiermv"');
  expect(run.stderr).toContain("NoSuchBucket");
  expect(run.stderr).toContain("Check that the bucket exists");
});

test("an endpoint where nothing listens: the tick stops with the task pending; the message names the gateway", async () => {
  const bucket = await newBucket(endpoint);
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const box = sandbox({ target: `s3://${bucket}/archive`, endpoint: dead });
  const files = [box.file("a.txt", "a"), box.file("b.txt", "b")];
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const { run } = await expectStopped(box, files, {});
  expect(run.stderr).toContain(`is unavailable at ${dead}`);
  expect(run.stderr).toContain("reachable from this node");
});

test("a store that stops answering (timeouts): the write may have landed, so that file's epoch is journalled and held (the protocol's rule), and the tick stops with the task pending", async () => {
  const bucket = await newBucket(endpoint);
  const box = sandbox({
    target: `s3://${bucket}/archive`,
    endpoint: proxy.endpoint,
    extra: { migrate: { uploadRetries: 0, concurrency: 1 }, s3: { requestTimeoutMs: 1500 } },
  });
  const first = box.file("a.txt", "a");
  const second = box.file("b.txt", "b");
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  proxy.setMode("hold"); // writes reach the store, their answers never come back
  try {
    const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
    expect(run.code).toBe(1);
    const summary = lastJsonLine(run.stdout);
    expect(summary.unavailable?.what).toBe("target");
    expect(run.stderr).toContain(`is unavailable at ${proxy.endpoint}`);
    expect(tasksIn(box, "pending")).toHaveLength(1);
    // The first file's PUT got no answer: journalled, its epoch held until rollback cleans it.
    expect(journal(box)).toHaveLength(1);
    expect((await holderOf(first))?.node).toBe("a");
    // The tick stopped before the second file was touched.
    expect(await holderOf(second)).toBeNull();
  } finally {
    proxy.release();
  }
});

test("--watch backs off after ticks stopped by an unavailable target: the wait doubles, and a SIGTERM ends it with exit 0", async () => {
  const box = sandbox({
    target: "s3://no-such-bucket-tiermv/archive",
    endpoint,
    extra: { schedule: { tickMs: 100, unavailableBackoffMaxMs: 400 } },
  });
  box.file("a.txt", "a");
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const proc = spawnCli(["run", "--node", "a", "--watch"], box.env);
  const err = streamText(proc.stderr);
  try {
    await err.until(
      /Next tick in 200 ms[\s\S]*Next tick in 400 ms[\s\S]*Next tick in 400 ms/,
      "the backoff to reach its cap",
    );
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(tasksIn(box, "pending")).toHaveLength(1);
  } finally {
    err.release();
    proc.kill("SIGKILL");
  }
});
