/**
 * Issue 15.2: one inode from take to decision. The attempt opens the file once (O_NOFOLLOW,
 * O_NONBLOCK, O_NOATIME; regular files only) and does every record, stat and read on that
 * descriptor; the path is asked once more only to learn whether our inode is still there.
 */
import { expect, test } from "bun:test";
import { mkdirSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkInvariants, startCluster } from "../cluster.ts";
import { lastJsonLine, mkfifo, randomBytes, waitFor } from "../helpers.ts";
import { currentOf, recordsOf, stateOf } from "../records.ts";

test("a file rotated during its upload: the epoch's records stay on the inode that was read, the outcome is moved, and the new file at the path is migrated on its own", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("r/app.log", randomBytes(200_000, 4));
  await c.submit("a", [path]);
  c.proxies.a?.setMode("hold");
  const run = c.spawnRun("a");
  await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 200_000, "the upload to be sent");
  // Rotation in the middle of the attempt: the inode moves away, a new file takes the path.
  const rotated = join(c.box.src, "r/app.log.1");
  renameSync(path, rotated);
  writeFileSync(path, "a new log\n");
  c.proxies.a?.release();
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(await run.exited).toBe(0);
  expect(summary.counts).toMatchObject({ moved: 1, migrated: 0 });
  // The records are on the rotated inode, decided `moved`; the new file has none.
  const old = await recordsOf(rotated);
  expect(old.e.get(1)?.outcome).toBe("moved");
  expect(currentOf(old)).toBeNull();
  expect((await recordsOf(path)).names).toEqual([]);
  await c.submit("a", [path, rotated]);
  await c.quiesce();
  expect((await stateOf(path))?.key).toBe("m/r/app.log");
  expect((await stateOf(rotated))?.key).toBe("m/r/app.log.1");
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a FIFO and a symlink in a task are rejected without blocking, and nothing is written on them", async () => {
  await using c = await startCluster(["a"]);
  const fifo = mkfifo(join(c.box.src, "pipe"));
  const target = c.box.file("real.txt", "real");
  const link = join(c.box.src, "link");
  symlinkSync(target, link);
  // A task written by hand (submit refuses both): the attempt's open must refuse them itself.
  const header = { v: 1, id: "t-special", requestId: "r", createdAt: new Date().toISOString() };
  const task = `${JSON.stringify({ ...header, target: c.box.config.target, options: {} })}\n${JSON.stringify({ path: fifo })}\n${JSON.stringify({ path: link })}\n`;
  mkdirSync(join(c.box.spool, "nodes/a/pending"), { recursive: true });
  writeFileSync(join(c.box.spool, "nodes/a/pending/t-special.task"), task);
  const run = await c.runJson("a");
  expect(run.json.counts).toMatchObject({ rejected: 2, migrated: 0 });
  expect(run.stderr).toContain("not a regular file");
  expect((await recordsOf(target)).names).toEqual([]);
});

test("reading a file to migrate it leaves its atime alone (O_NOATIME): atime policies still see it as cold", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("cold.bin", randomBytes(10_000, 6));
  // Two days old: under relatime a plain read would move atime to now.
  const old = new Date(Date.now() - 2 * 86_400_000);
  utimesSync(path, old, statSync(path).mtime);
  const before = statSync(path, { bigint: true }).atimeNs;
  await c.submit("a", [path]);
  await c.quiesce();
  expect((await stateOf(path))?.key).toBe("m/cold.bin");
  expect(statSync(path, { bigint: true }).atimeNs).toBe(before);
});
