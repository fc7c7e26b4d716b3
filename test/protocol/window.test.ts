/**
 * The time-window fence of an unversioned bucket (docs/protocol-v2.md section 8), on s3proxy:
 * a write of an epoch can land after its sender gave up on it, so a write that got no answer
 * makes the epoch's outcome ambiguous, and the cleanup of an ambiguous or revoked epoch creates
 * `c.<n>` (which frees the file for the next commit) only once `s3.lateWriteWindowMs` has passed
 * since the cleaner's own clock reading, taken after it found `e.<n>` (never `e.<n>.at`: model
 * fix `design-window-from-at`). The fault proxy stands for the network and the store's clock:
 * it holds a write in flight and, when it finally arrives, refuses it if its signing time is
 * older than the store's skew limit (RequestTimeTooSkewed), as RGW and s3proxy do at 15 min.
 */
import { expect, test } from "bun:test";
import {
  appendFileSync as append,
  appendFileSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { type Cluster, checkInvariants, startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes, sandbox, waitFor } from "../helpers.ts";
import { putRecord, recordsOf, stateOf } from "../records.ts";
import { s3Client } from "../services/shared.ts";

/** S = 8 s (the proxy refuses a write signed longer ago), D = 1.5 s, W = 10 s >= S + D. */
const STORE = { storeSkewLimitMs: 8000, requestTimeoutMs: 1500, lateWriteWindowMs: 10_000 };
/**
 * S = 20 s, W = 22 s: without the wait (mutant window-cleanup-waits) b commits, and the late
 * write arrives, well within S of its signing even on a loaded machine (with S = 8 s it
 * arrived too late to be applied, and the test passed without the guard it is there for).
 */
const SLOW_STORE = { storeSkewLimitMs: 20_000, requestTimeoutMs: 1500, lateWriteWindowMs: 22_000 };

/** Runs node b (and a's rollback, which finishes a's cleanups) until b has committed `path`. */
async function untilBCommits(c: Cluster, path: string): Promise<void> {
  await waitFor(
    async () => {
      await cli(["rollback", "--node", "a"], c.box.env);
      await c.run("b");
      return (await stateOf(path))?.node === "b";
    },
    "node b to commit the file",
    60_000,
  );
}

async function objectAttempt(c: Cluster, key: string): Promise<string | undefined> {
  const client = s3Client(c.endpoint);
  const head = await client.send(new HeadObjectCommand({ Bucket: c.bucket, Key: key }));
  client.destroy();
  return head.Metadata?.attempt;
}

test("the cleanup of a revoked epoch waits the window from the cleaner's own reading, not from e.<n>.at: the revoked holder's write, still in flight, is refused when it arrives after the next commit", async () => {
  await using c = await startCluster(["a", "b"], {
    s3: SLOW_STORE,
    migrate: { uploadRetries: 0 },
  });
  const path = c.box.file("w/revoked.bin", randomBytes(50_000, 61));
  await c.submit("a", [path]);
  c.proxies.a?.setMode("stall"); // a's PUT is signed, checked and sent, and stays in flight
  const run = c.spawnRun("a");
  await waitFor(() => c.proxies.a?.stalled === 1, "a's PUT in flight");
  // A revoker whose create of e.1 landed an hour after it read its clock (a hung mount): its
  // e.1.at is old, although a's write was signed after it. It hands the epoch to a's rollback.
  const take = (await recordsOf(path)).l.get(1);
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const by = { node: "a", role: "revoker" };
  await putRecord(path, "e.1", { v: 2, n: 1, attempt: take.attempt, outcome: "revoked", by, at });
  const line = {
    v: 2,
    path,
    ino: String(statSync(path, { bigint: true }).ino),
    epoch: 1,
    attempt: take.attempt,
    key: take.key,
    target: take.target,
    uploadIds: [],
    node: "a",
    task: take.task,
    requestId: "r",
    error: "revoked by a slow recover",
    tries: 1,
    at,
  };
  append(join(c.box.spool, "nodes/a/failed-files.jsonl"), `${JSON.stringify(line)}\n`);
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(await run.exited).toBe(1);
  expect(summary.counts.revoked).toBe(1);
  appendFileSync(path, "new bytes, after the revocation");
  await c.submit("b", [path]);
  await untilBCommits(c, path);
  // Now the revoked write arrives: signed before the cleaner's reading, more than the skew
  // limit ago, it is refused; measured from e.1.at, the window would have let b commit in
  // time for it to land and replace b's object.
  // (Two requests are stalled: a's PUT, and the PUT of the target's probe that a ran after its
  // PUT timed out, which found the target down; both were signed before the cleaner's reading.)
  c.proxies.a?.release();
  await waitFor(
    () => (c.proxies.a?.refusedLate ?? 0) + (c.proxies.a?.deliveredLate ?? 0) >= 2,
    "the late writes to arrive",
  );
  expect(c.proxies.a?.deliveredLate).toBe(0);
  expect(c.proxies.a?.refusedLate).toBe(2);
  expect(await objectAttempt(c, "m/w/revoked.bin")).toBe((await stateOf(path))?.attempt);
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a PUT that got no answer makes the epoch ambiguous even when its retry was answered: failed, cleaned only after the window, so its late arrival cannot replace the next commit", async () => {
  await using c = await startCluster(["a", "b"], {
    s3: STORE,
    migrate: { uploadRetries: 1, uploadRetryBaseMs: 10 },
  });
  const path = c.box.file("w/ambiguous.bin", randomBytes(50_000, 62));
  await c.submit("a", [path]);
  c.proxies.a?.setMode("stall");
  const run = c.spawnRun("a");
  await waitFor(() => c.proxies.a?.stalled === 1, "a's first PUT in flight");
  c.proxies.a?.setMode("pass"); // its retry, after the first one's deadline, is answered
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(await run.exited).toBe(1);
  expect(summary.counts).toMatchObject({ failed: 1, migrated: 0 });
  expect((await recordsOf(path)).e.get(1)).toMatchObject({ outcome: "failed", ambiguous: true });
  appendFileSync(path, "new bytes");
  await c.submit("b", [path]);
  await untilBCommits(c, path);
  c.proxies.a?.release();
  await waitFor(
    () => (c.proxies.a?.refusedLate ?? 0) + (c.proxies.a?.deliveredLate ?? 0) > 0,
    "the late write to arrive",
  );
  expect(c.proxies.a?.refusedLate).toBe(1);
  expect(await objectAttempt(c, "m/w/ambiguous.bin")).toBe((await stateOf(path))?.attempt);
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a window below the store's skew limit plus the request deadline is refused at load (exit 2)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const document = JSON.parse(readFileSync(box.configPath, "utf8"));
  const s3 = { storeSkewLimitMs: 900_000, requestTimeoutMs: 120_000, lateWriteWindowMs: 1_000_000 };
  const bad = join(box.dir, "bad-window.json");
  writeFileSync(bad, JSON.stringify({ ...document, s3 }));
  const result = await cli(["status", "--config", bad], box.env);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("lateWriteWindowMs");
});

test("a PUT cut after the store received it, on a connection that was reused: the HTTP client does not resend it by itself behind the guard's back, so the lost answer makes the epoch ambiguous (model: design-hidden-resend)", async () => {
  await using c = await startCluster(["a", "b"], {
    s3: STORE,
    migrate: { uploadRetries: 1, uploadRetryBaseMs: 10 },
  });
  const path = c.box.file("w/resent.bin", randomBytes(50_000, 63));
  await c.submit("a", [path]);
  // The versioning probe and the target's probe leave a kept-alive connection to reuse; the
  // file's PUT reaches the store, then its connection is cut before the answer.
  c.proxies.a?.setMode("cut-next-write");
  const run = c.spawnRun("a");
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(c.proxies.a?.cuts).toBe(1);
  // A silent resend would be answered, and the epoch committed as if the first send could not
  // land late; seen, the lost answer makes it ambiguous even though the retry was answered.
  expect(summary.counts).toMatchObject({ failed: 1, migrated: 0 });
  expect(await run.exited).toBe(1);
  expect((await recordsOf(path)).e.get(1)).toMatchObject({ outcome: "failed", ambiguous: true });
  // Cleaned once the window has passed; then the file is migrated again, and nothing is lost.
  await c.submit("b", [path]);
  await untilBCommits(c, path);
  expect((await checkInvariants(c)).violations).toEqual([]);
});
