/**
 * Issue 15.4: rollback acts only for the attempt it names (docs/protocol-v2.md section 6). It
 * aborts only the multipart upload ids its attempt recorded (never "every incomplete upload of
 * the key"), replayed and duplicated journal lines are harmless, and a line whose epoch was
 * cleaned and garbage-collected is done (model fix `design-journal-gcd-line`). Real processes,
 * real s3proxy.
 */
import { expect, test } from "bun:test";
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cli, randomBytes, waitFor } from "../helpers.ts";
import { recordsOf, stateOf } from "../records.ts";
import { s3Client } from "../services/shared.ts";

const SMALL_PARTS = { partSize: 5 * 1024 * 1024, multipartThreshold: 5 * 1024 * 1024 };

const journalOf = (spool: string, node: string) => join(spool, "nodes", node, "failed-files.jsonl");

test("the cleanup of a failed epoch aborts only the upload ids its attempt recorded, never another attempt's upload of the same key; replayed and duplicated lines are harmless", async () => {
  await using c = await startCluster(["a", "b"], { s3: SMALL_PARTS });
  const path = c.box.file("rot/big.log", randomBytes(6 * 1024 * 1024, 21));
  await c.submit("a", [path]);
  // a dies right after recording its upload id U1: epoch 1 of inode A stays undecided.
  expect((await c.run("a", { TIERMV_CRASH_AT: "after-upload-id" })).code).toBe(137);
  // Rotation: inode A moves away, a new file B takes the path (and the key).
  const rotated = join(c.box.src, "rot/big.log.1");
  renameSync(path, rotated);
  writeFileSync(path, randomBytes(6 * 1024 * 1024, 22));
  // b starts B's multipart upload U2 of the same key; its answers are held.
  await c.submit("b", [path]);
  c.proxies.b?.setMode("hold");
  const runB = c.spawnRun("b");
  const client = s3Client(c.endpoint);
  const uploads = async () =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: c.bucket }))).Uploads ?? [];
  await waitFor(async () => (await uploads()).length === 2, "U1 (dead) and U2 (in flight)");
  // a finds A again at its new path: resolution (failed) and cleanup, which aborts U1 only.
  await c.submit("a", [rotated]);
  expect((await c.run("a")).code).toBe(0);
  // The same line again, replayed from the start and duplicated: harmless.
  const journal = journalOf(c.box.spool, "a");
  const lines = readFileSync(journal, "utf8").trim().split("\n");
  appendFileSync(journal, `${lines.at(-1)}\n`);
  writeFileSync(join(c.box.spool, "nodes/a/failed-files.cursor"), "0\n");
  expect((await cli(["rollback", "--node", "a"], c.box.env)).code).toBe(0);
  // U1 (a's recorded id) is gone; b's upload of the same key is untouched (b may hold more than
  // one: a CreateMultipartUpload whose held answer timed out under load is sent again).
  const recorded: string[] = JSON.parse(lines.at(-1) ?? "{}").uploadIds;
  expect(recorded.length).toBe(1);
  const left = await uploads();
  expect(left.length).toBeGreaterThanOrEqual(1);
  expect(left.filter((u) => recorded.includes(u.UploadId ?? ""))).toEqual([]);
  expect(new Set(left.map((u) => u.Key))).toEqual(new Set(["m/rot/big.log"]));
  c.proxies.b?.release();
  expect(await runB.exited).toBe(0);
  expect((await stateOf(path))?.node).toBe("b");
  client.destroy();
  await c.quiesce();
  expect((await stateOf(rotated))?.key).toBe("m/rot/big.log.1");
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a journal line whose epoch was cleaned and garbage-collected is done: the lines behind it are still rolled back", async () => {
  await using c = await startCluster(["a", "b"]);
  const gone = c.box.file("g/gcd.bin", randomBytes(800, 23));
  // b commits epochs 1 and 2 of this file: GC removes every record of epoch 1.
  await c.submit("b", [gone]);
  await c.quiesce();
  appendFileSync(gone, "v2");
  await c.submit("b", [gone]);
  await c.quiesce();
  const records = await recordsOf(gone);
  expect([...records.e.keys()]).toEqual([2]);
  // a's journal names epoch 1 of that inode (an old failure of a, cleaned long ago), then a
  // real failure of another file of a's behind it.
  const ino = String(statSync(gone, { bigint: true }).ino);
  const old = {
    v: 2,
    path: gone,
    ino,
    epoch: 1,
    attempt: "0ldf41l",
    key: "m/g/gcd.bin",
    target: c.box.config.target,
    uploadIds: [],
    node: "a",
    task: "t-old",
    requestId: "r",
    error: "an old failure",
    tries: 1,
    at: new Date().toISOString(),
  };
  const journal = journalOf(c.box.spool, "a");
  mkdirSync(join(c.box.spool, "nodes/a"), { recursive: true });
  writeFileSync(journal, `${JSON.stringify(old)}\n`);
  writeFileSync(join(c.box.spool, "nodes/a/failed-files.cursor"), "0\n");
  const behind = c.box.file("g/behind.bin", randomBytes(900, 24));
  await c.submit("a", [behind]);
  // Every write of the file is refused with an answer (503; the probe passes): nothing can
  // land, an unambiguous failure.
  c.proxies.a?.setMode("error-writes");
  expect((await c.runJson("a")).json.counts.failed).toBe(1);
  c.proxies.a?.setMode("pass");
  const rollback = await cli(["rollback", "--node", "a"], c.box.env);
  expect(rollback.code).toBe(0);
  expect(readFileSync(join(c.box.spool, "nodes/a/failed-files.cursor"), "utf8").trim()).toBe("2");
  expect((await recordsOf(behind)).c.has(1)).toBe(true);
  await c.quiesce();
  expect((await checkInvariants(c)).violations).toEqual([]);
});
