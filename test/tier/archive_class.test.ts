/**
 * Storage classes: `s3.storageClass` goes on every upload and into the state; restoring an
 * object in GLACIER or DEEP_ARCHIVE asks the store for a restore (RestoreObject) and reports
 * `restore-pending` (the stub untouched) until the store says it is readable. s3proxy and RGW 16.2
 * cannot show this path, so it runs against a loopback stand-in (test/services/archive_store.ts).
 */
import { expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { cli, randomBytes, sandbox } from "../helpers.ts";
import { heldOf, recordsOf } from "../records.ts";
import { startArchiveStore } from "../services/archive_store.ts";
import { currentState } from "./tier_helpers.ts";

test("GLACIER: the upload and the state carry the class; restore requests a restore once, is restore-pending until it is done, then restores", async () => {
  await using store = startArchiveStore();
  const box = sandbox({
    target: "s3://cold/archive",
    endpoint: store.endpoint,
    // The stand-in store has no versioning: release there is the operator's choice.
    extra: { s3: { storageClass: "GLACIER", releaseUnversioned: true } },
  });
  const data = randomBytes(300_000, 91);
  const path = box.file("cold.bin", data);
  expect((await cli(["submit", "--node", "a", path], box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once"], box.env);
  if (run.code !== 0) throw new Error(`run: ${run.stdout}\n${run.stderr}`);
  expect(await currentState(path)).toMatchObject({ state: "migrated", storageClass: "GLACIER" });
  const tier = async (action: string) => {
    const r = await cli([action, "--node", "a", "--json", path], box.env);
    return { code: r.code, outcome: JSON.parse(r.stdout.trim().split("\n")[0] as string) };
  };
  expect((await tier("release")).outcome).toMatchObject({ kind: "released" });

  const mark = store.requests.length;
  const first = await tier("restore");
  // Not done, and nothing here retries it: exit 1 (the line says to run restore again).
  expect(first.code).toBe(1);
  expect(first.outcome).toMatchObject({ kind: "restore-pending", storageClass: "GLACIER" });
  expect(store.restoreRequests).toBe(1);
  // Restore GETs the first chunk with its headers; refused (InvalidObjectState), it HEADs.
  const id = "cold/archive/cold.bin";
  const own = store.requests.slice(mark).filter((r) => r.endsWith(` ${id}`));
  expect(own).toEqual([`GET ${id}`, `HEAD ${id}`, `POST ${id}`]);
  const second = await tier("restore");
  expect(second.outcome).toMatchObject({ kind: "restore-pending" });
  expect(store.restoreRequests).toBe(1);
  expect(statSync(path).size).toBe(0);
  expect(await currentState(path)).toMatchObject({ state: "released" });

  store.finishRestores();
  const done = await tier("restore");
  expect(done.outcome).toMatchObject({ kind: "restored" });
  expect(done.code).toBe(0);
  expect(Buffer.compare(readFileSync(path), Buffer.from(data))).toBe(0);
});

test("restore of a file of one chunk sends one request: a GET whose headers are the HEAD's check (size, ETag), no HEAD", async () => {
  await using store = startArchiveStore();
  const box = sandbox({
    target: "s3://cold/archive",
    endpoint: store.endpoint,
    extra: { s3: { releaseUnversioned: true } },
  });
  const data = randomBytes(300_000, 92);
  const path = box.file("warm.bin", data);
  expect((await cli(["submit", "--node", "a", path], box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once"], box.env);
  if (run.code !== 0) throw new Error(`run: ${run.stdout}\n${run.stderr}`);
  const release = await cli(["release", "--node", "a", "--json", path], box.env);
  expect(JSON.parse(release.stdout.trim().split("\n")[0] as string)).toMatchObject({
    kind: "released",
  });
  const mark = store.requests.length;
  const restore = await cli(["restore", "--node", "a", "--json", path], box.env);
  expect(JSON.parse(restore.stdout.trim().split("\n")[0] as string)).toMatchObject({
    kind: "restored",
  });
  const id = "cold/archive/warm.bin";
  expect(store.requests.slice(mark).filter((r) => r.endsWith(` ${id}`))).toEqual([`GET ${id}`]);
  expect(Buffer.compare(readFileSync(path), Buffer.from(data))).toBe(0);
  expect(await currentState(path)).toMatchObject({ state: "migrated" });
});

test("migrate meeting a released file with bytes whose object is archived (not readable to compare): that file's error, saying to restore it first; the epoch given back, nothing uploaded", async () => {
  await using store = startArchiveStore();
  const box = sandbox({
    target: "s3://cold/archive",
    endpoint: store.endpoint,
    extra: { s3: { storageClass: "GLACIER", releaseUnversioned: true } },
  });
  const data = randomBytes(100_000, 93);
  const path = box.file("cold.bin", data);
  expect((await cli(["submit", "--node", "a", path], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
  expect((await cli(["release", "--node", "a", path], box.env)).code).toBe(0);
  writeFileSync(path, data.subarray(0, 1000)); // the first bytes back, as a stopped restore leaves
  // Uploads of the file's key (the target's probe PUTs a key of its own).
  const uploads = () => store.requests.filter((r) => r === "PUT cold/archive/cold.bin").length;
  const puts = uploads();
  const submit = ["submit", "--node", "a", "--request-id", "again", path];
  expect((await cli(submit, box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(run.code).toBe(1);
  expect(JSON.parse(run.stdout.trim().split("\n").at(-1) as string).counts).toMatchObject({
    error: 1,
    migrated: 0,
  });
  expect(run.stderr).toContain("its object is in an archive class");
  expect(run.stderr).toContain("restore it first");
  expect(puts).toBe(1);
  expect(uploads()).toBe(puts);
  expect(heldOf(await recordsOf(path))).toBeNull();
  expect(await currentState(path)).toMatchObject({ state: "released" });
});
