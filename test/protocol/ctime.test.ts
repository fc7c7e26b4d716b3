/**
 * Issue 15.9: a writer that keeps size and mtime (restores mtime) is caught by ctime: compared
 * between the fstat after the take and the verify fstat, and recorded in the object's metadata
 * so that the resolution of a crashed attempt compares it too (model fix
 * `design-resolve-no-ctime`). Real processes, real s3proxy, kill -9.
 */
import { expect, test } from "bun:test";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { checkInvariants, startCluster } from "../cluster.ts";
import { lastJsonLine, randomBytes, waitFor } from "../helpers.ts";
import { stateOf } from "../records.ts";
import { s3Client } from "../services/shared.ts";

/** Rewrites the file's bytes in place (same size) and puts its mtime back, to the nanosecond. */
function rewriteKeepingMtime(path: string, seed: number): void {
  const before = statSync(path, { bigint: true });
  const size = Number(before.size);
  const fd = openSync(path, "r+");
  writeSync(fd, randomBytes(size, seed), 0, size, 0);
  closeSync(fd);
  const ns = before.mtimeNs;
  const stamp = `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
  expect(Bun.spawnSync(["touch", "-m", "-d", stamp, path]).exitCode).toBe(0);
  expect(statSync(path, { bigint: true }).mtimeNs).toBe(ns);
}

test("a writer that rewrites a file during its upload and restores its mtime is caught by ctime: modified, not committed", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("c/sneaky.bin", randomBytes(150_000, 51));
  const mtimeBefore = statSync(path, { bigint: true }).mtimeNs;
  await c.submit("a", [path]);
  c.proxies.a?.setMode("hold");
  const run = c.spawnRun("a");
  await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 150_000, "the upload to be sent");
  rewriteKeepingMtime(path, 52);
  expect(statSync(path, { bigint: true }).mtimeNs).toBe(mtimeBefore);
  c.proxies.a?.release();
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(await run.exited).toBe(0);
  expect(summary.counts).toMatchObject({ modified: 1, migrated: 0 });
  await c.submit("a", [path]);
  await c.quiesce();
  // The commit that follows has the new bytes (checkInvariants compares them).
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("resolution compares ctime: an attempt killed after its upload, then a rewrite that restores mtime, is never committed from its old object", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("c/resolved.bin", randomBytes(3000, 53));
  await c.submit("a", [path]);
  expect((await c.run("a", { TIERMV_CRASH_AT: "after-upload" })).code).toBe(137);
  // The dead attempt's object is complete and records the ctime of its take's fstat.
  const client = s3Client(c.endpoint);
  const head = await client.send(
    new HeadObjectCommand({ Bucket: c.bucket, Key: "m/c/resolved.bin" }),
  );
  client.destroy();
  expect(head.Metadata?.["ctime-ns"]).toMatch(/^\d+$/);
  rewriteKeepingMtime(path, 54);
  await c.quiesce();
  const state = await stateOf(path);
  expect(state?.attempt).not.toBe(head.Metadata?.attempt);
  expect((await checkInvariants(c)).violations).toEqual([]);
});
