/**
 * kill -9 of a node process at every step of the protocol, then a restart: every file ends
 * migrated exactly once and correct, no lock is left, no orphan object remains.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { type Cluster, checkInvariants, expectAllCommitted, startCluster } from "../cluster.ts";
import { cli, randomBytes, waitFor } from "../helpers.ts";
import { holderOf, stateOf } from "../records.ts";
import { s3Client } from "../services/shared.ts";

const rt = createRuntime();
const KILLED = 137; // 128 + SIGKILL

/** Runs node a of `c` over 8 files until it kills itself at `point` (its `nth` time there). */
async function crashAt(
  c: Cluster,
  point: string,
  options: { failFirst?: boolean; nth?: number } = {},
) {
  c.box.setConfig({ migrate: { concurrency: 2, uploadRetries: 0, uploadRetryBaseMs: 1 } });
  const files = Array.from({ length: 8 }, (_, i) =>
    c.box.file(`d/${i}.bin`, randomBytes(3000 + i, i + 1)),
  );
  await c.submit("a", [c.box.src]);
  if (options.failFirst) c.proxies.a?.setMode("cut-writes");
  const crashed = await c.run("a", { TIERMV_CRASH_AT: `${point}:${options.nth ?? 3}` });
  c.proxies.a?.setMode("pass");
  return { files, crashed };
}

function journalLines(spool: string): number {
  try {
    return readFileSync(join(spool, "nodes/a/failed-files.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

// Task-level points are reached once per task; file-level ones at the third file.
const POINTS: [string, number][] = [
  ["after-claim", 1],
  ["after-lock", 3],
  ["after-upload", 3],
  ["after-commit", 3],
  ["before-finish", 1],
];

for (const [point, nth] of POINTS) {
  test(`kill -9 ${point}, then restart: every file migrated once and correct`, async () => {
    await using c = await startCluster(["a"]);
    const { crashed } = await crashAt(c, point, { nth });
    expect(crashed.code).toBe(KILLED);
    await expectAllCommitted(c, 8);
  });
}

test("kill -9 after an upload finished but before its commit: the restart commits that upload without uploading again", async () => {
  await using c = await startCluster(["a"]);
  const { files, crashed } = await crashAt(c, "after-upload");
  expect(crashed.code).toBe(KILLED);
  // Epochs left held whose object is complete (the crashed third upload at least).
  const target = createS3Target(rt, c.box.config.target, c.box.config);
  const complete: { path: string; attempt: string }[] = [];
  for (const path of files) {
    const lock = await holderOf(path);
    if (!lock) continue;
    const head = await target.head(`m/${path.slice(c.box.src.length + 1)}`);
    if (head?.meta?.attempt === lock.attempt) complete.push({ path, attempt: lock.attempt });
  }
  expect(complete.length).toBeGreaterThan(0);
  await c.quiesce();
  for (const { path, attempt } of complete) {
    // Committed from the crashed attempt's own object: no second upload, no rollback.
    expect((await stateOf(path))?.attempt).toBe(attempt);
  }
  expect((await checkInvariants(c)).violations).toEqual([]);
  target.close();
});

test("kill -9 right after journalling a failed attempt, then restart: rollback frees the lock and the file migrates", async () => {
  await using c = await startCluster(["a"]);
  const { crashed } = await crashAt(c, "after-journal", { failFirst: true });
  expect(crashed.code).toBe(KILLED);
  expect(journalLines(c.box.spool)).toBeGreaterThanOrEqual(3);
  await expectAllCommitted(c, 8);
});

test("kill -9 mid-rollback (the store cleaned, c.<n> not yet created), then restart: the replay is harmless", async () => {
  await using c = await startCluster(["a"]);
  c.box.setConfig({ migrate: { concurrency: 2, uploadRetries: 0, uploadRetryBaseMs: 1 } });
  for (let i = 0; i < 6; i++) c.box.file(`r/${i}.bin`, randomBytes(2000 + i, i + 3));
  await c.submit("a", [c.box.src]);
  c.proxies.a?.setMode("cut"); // nothing reaches the store: the run's own rollback is blocked
  await c.run("a");
  c.proxies.a?.setMode("pass");
  const rollback = await cli(["rollback", "--node", "a", "--config", c.configOf("a")], {
    ...c.box.env,
    TIERMV_CRASH_AT: "mid-rollback:2",
  });
  expect(rollback.code).toBe(KILLED);
  await expectAllCommitted(c, 6);
});

test("kill -9 mid-upload (request sent, response pending), then restart: every file migrated once and correct", async () => {
  await using c = await startCluster(["a"]);
  for (let i = 0; i < 6; i++) c.box.file(`u/${i}.bin`, randomBytes(100_000 + i, i + 5));
  await c.submit("a", [c.box.src]);
  c.proxies.a?.setMode("hold");
  const proc = c.spawnRun("a");
  await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 300_000, "uploads in flight");
  proc.kill("SIGKILL");
  expect(await proc.exited).toBe(KILLED);
  c.proxies.a?.release();
  await expectAllCommitted(c, 6);
});

// The attempt records its upload id in the spool (nodes/<node>/uploads/<attempt>) before its
// first part; the restart resolves the dead attempt as failed and its cleanup aborts exactly
// that id (never "every incomplete upload of the key").
test("kill -9 in the middle of a multipart upload: the restart migrates the file and aborts the dead attempt's upload by its recorded id", async () => {
  await using c = await startCluster(["a"]);
  c.box.file("big/large.bin", randomBytes(17 * 1024 * 1024, 77));
  await c.submit("a", [c.box.src]);
  // The node dies right after recording its upload id, before any part: the upload exists.
  const crashed = await c.run("a", { TIERMV_CRASH_AT: "after-upload-id" });
  expect(crashed.code).toBe(KILLED);
  const client = s3Client(c.endpoint);
  const before = await client.send(new ListMultipartUploadsCommand({ Bucket: c.bucket }));
  expect((before.Uploads ?? []).length).toBe(1);
  await c.quiesce();
  const after = await client.send(new ListMultipartUploadsCommand({ Bucket: c.bucket }));
  expect(after.Uploads ?? []).toEqual([]);
  client.destroy();
  const report = await checkInvariants(c);
  expect(report.violations).toEqual([]);
  expect(report.committed).toBe(1);
});
