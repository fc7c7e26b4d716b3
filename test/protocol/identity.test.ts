/**
 * Issue 15.1: a commit names a key and a target, and counts only for them (docs/protocol-v2.md
 * section 3, "a commit for this run"). Real node processes, a real s3proxy.
 */
import { expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cli, randomBytes } from "../helpers.ts";
import { recordsOf, stateOf } from "../records.ts";
import { newBucket, s3Client } from "../services/shared.ts";

async function bytesAt(endpoint: string, bucket: string, key: string): Promise<Buffer | null> {
  const client = s3Client(endpoint);
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } catch {
    return null;
  } finally {
    client.destroy();
  }
}

function findings(stdout: string): { kind: string; path?: string; detail: string }[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((f) => f.kind);
}

test("log rotation: app.log migrated, renamed to app.log.1, a new app.log written; each is migrated to its own key, and verify named the mismatch", async () => {
  await using c = await startCluster(["a"]);
  const old = randomBytes(4000, 1);
  const log = c.box.file("logs/app.log", old);
  await c.submit("a", [log]);
  await c.quiesce();
  // Rotation: the committed inode moves to app.log.1 (its state still names m/logs/app.log),
  // a new app.log of the same size is written.
  const rotated = join(c.box.src, "logs/app.log.1");
  renameSync(log, rotated);
  const fresh = randomBytes(4000, 2);
  writeFileSync(log, fresh);
  const verify = await cli(["verify", "--json", join(c.box.src, "logs")], c.box.env);
  expect(verify.code).toBe(1);
  const mismatch = findings(verify.stdout).filter((f) => f.kind === "key-mismatch");
  expect(mismatch.map((f) => f.path)).toEqual([rotated]);
  await c.submit("a", [join(c.box.src, "logs")]);
  await c.quiesce();
  // app.log.1 was not skipped as migrated: it has its own key with its own (old) bytes, and the
  // new app.log's bytes are at m/logs/app.log.
  expect((await stateOf(rotated))?.key).toBe("m/logs/app.log.1");
  expect(await bytesAt(c.endpoint, c.bucket, "m/logs/app.log.1")).toEqual(Buffer.from(old));
  expect(await bytesAt(c.endpoint, c.bucket, "m/logs/app.log")).toEqual(Buffer.from(fresh));
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a changed target: every file is migrated again to the new one (same key), and verify named the mismatch", async () => {
  await using c = await startCluster(["a"]);
  const files = [c.box.file("t/one.bin", randomBytes(900, 3)), c.box.file("t/two.bin", "two")];
  await c.submit("a", [c.box.src]);
  await c.quiesce();
  // Another bucket, the same prefix: the keys are the same, only the target differs.
  const other = await newBucket(c.endpoint);
  c.box.setConfig({ target: `s3://${other}/m` });
  const verify = await cli(["verify", "--json"], c.box.env);
  expect(verify.code).toBe(1);
  const mismatch = findings(verify.stdout).filter((f) => f.kind === "target-mismatch");
  expect(mismatch.map((f) => f.path).sort()).toEqual([...files].sort());
  expect((await cli(["submit", "--node", "a", c.box.src], c.box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--json"], c.box.env);
  expect(run.code).toBe(0);
  for (const path of files) {
    const state = await stateOf(path);
    expect(state?.target).toBe(`s3://${other}/m`);
    expect(await bytesAt(c.endpoint, other, state?.key)).not.toBeNull();
  }
  expect((await cli(["verify", "--json"], c.box.env)).code).toBe(0);
});

test("the protocol cannot be switched off: a run with TIERMV_BENCH_NO_XATTR=1 still takes, decides and records every file (issue 15.5)", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("bench/f.bin", randomBytes(700, 5));
  await c.submit("a", [path]);
  const run = await c.runJson("a", { TIERMV_BENCH_NO_XATTR: "1" });
  expect(run.json.counts.migrated).toBe(1);
  const records = await recordsOf(path);
  expect(records.l.get(1)).toMatchObject({ node: "a" });
  expect(records.e.get(1)).toMatchObject({ outcome: "committed" });
});
