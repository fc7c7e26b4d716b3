/**
 * Release and restore (docs/tiering.md) on real processes and a real s3proxy: the round trip is
 * byte-identical with inode, mode, owner and mtime; a stub is never uploaded; the object a stub
 * names is checked before release and before restore.
 */
import { expect, test } from "bun:test";
import { appendFileSync, chmodSync, readFileSync, statSync } from "node:fs";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { cli, randomBytes, spawnCli } from "../helpers.ts";
import { newBucket, s3Client, s3Service } from "../services/shared.ts";
import {
  currentState,
  identityOf,
  mtimeNsOf,
  outboxEvents,
  stoppedAt,
  tierBox,
  writeAt,
} from "./tier_helpers.ts";

const MiB = 1024 * 1024;

test("release then restore: byte-identical, same inode, mode, owner and mtime; space freed; a second release uploads nothing", async () => {
  const t = await tierBox();
  const files = {
    "one.bin": new Uint8Array([7]),
    "small.txt": new TextEncoder().encode("small file\n"),
    "odd.bin": randomBytes(3 * MiB + 17, 2),
    "big/seventeen MiB.bin": randomBytes(17 * MiB, 3),
  };
  const paths = await t.migrate(files);
  chmodSync(paths[1] as string, 0o640);
  const before = paths.map((p) => ({ id: identityOf(p), mtime: mtimeNsOf(p) }));
  const objects = await Promise.all(
    paths.map((p) => t.target.head(`archive/${p.slice(t.box.src.length + 1)}`)),
  );

  const released = await t.tier("release", [t.box.src]);
  expect(released.code).toBe(0);
  expect(released.json.counts).toMatchObject({ released: 4 });
  expect(released.json.bytes).toBe(1 + 11 + 3 * MiB + 17 + 17 * MiB);
  for (const [i, path] of paths.entries()) {
    const s = statSync(path);
    expect(s.size).toBe(0);
    // At most the xattr block ext4 counts in st_blocks: the data blocks are freed.
    expect(s.blocks).toBeLessThanOrEqual(8);
    expect(identityOf(path)).toEqual(before[i]?.id as ReturnType<typeof identityOf>);
    expect(mtimeNsOf(path)).toBe(before[i]?.mtime as string);
    const state = await currentState(path);
    expect(state).toMatchObject({ state: "released", etag: objects[i]?.etag });
  }
  // Released again: nothing to do, skipped (done, exit 0), and no release counted or freed.
  const again = await t.tier("release", [t.box.src]);
  expect(again.code).toBe(0);
  expect(again.outcomes.map((o) => o.kind)).toEqual(["skipped", "skipped", "skipped", "skipped"]);
  expect(again.json).toMatchObject({ counts: { skipped: 4, released: 0 }, bytes: 0 });

  const restored = await t.tier("restore", [t.box.src]);
  expect(restored.code).toBe(0);
  expect(restored.json.counts).toMatchObject({ restored: 4 });
  for (const [i, path] of paths.entries()) {
    const rel = path.slice(t.box.src.length + 1) as keyof typeof files;
    expect(Buffer.compare(readFileSync(path), Buffer.from(files[rel]))).toBe(0);
    expect(identityOf(path)).toEqual(before[i]?.id as ReturnType<typeof identityOf>);
    expect(mtimeNsOf(path)).toBe(before[i]?.mtime as string);
    expect(await currentState(path)).toMatchObject({ state: "migrated", etag: objects[i]?.etag });
  }
  // Restored again: nothing to restore, so skipped (no `restored` event, no bytes counted).
  const twice = await t.tier("restore", [t.box.src]);
  expect(twice.code).toBe(0);
  expect(twice.json.counts).toMatchObject({ restored: 0, skipped: 4 });
  expect(twice.json.bytes).toBe(0);
  // Each release and restore left its events in the node's outbox, for `report` to ship.
  const events = outboxEvents(t.box.spool);
  // One `released` for the 17 MiB file: releasing its stub again was skipped, not a release.
  expect(events.filter((e) => e.outcome === "released" && e.bytes === 17 * MiB)).toHaveLength(1);
  expect(events.filter((e) => e.outcome === "restored")).toHaveLength(4);
  // The archived copy stayed valid: a second release HEADs it and uploads nothing.
  const second = await t.tier("release", [t.box.src]);
  expect(second.json.counts).toMatchObject({ released: 4 });
  for (const [i, path] of paths.entries()) {
    const head = await t.target.head(`archive/${path.slice(t.box.src.length + 1)}`);
    expect(head?.meta?.attempt).toBe(objects[i]?.meta?.attempt as string);
  }
  t.target.close();
});

test("migrate never uploads a released stub (skipped: archived already) nor a stub written to (dirty); restore leaves a dirty stub as it is", async () => {
  const t = await tierBox();
  const [stub, dirty] = await t.migrate({
    "stub.bin": randomBytes(5000, 4),
    "dirty.bin": randomBytes(6000, 5),
  });
  expect((await t.tier("release", [t.box.src])).json.counts.released).toBe(2);
  const heads = await Promise.all(
    ["stub.bin", "dirty.bin"].map((k) => t.target.head(`archive/${k}`)),
  );
  appendFileSync(dirty as string, "new bytes written into the stub");

  const submit = await cli(
    ["submit", "--node", "a", "--request-id", "again", t.box.src],
    t.box.env,
  );
  expect(submit.code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once", "--json"], t.box.env);
  const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) as string);
  // The clean stub at its own key is archived already: skipped, nothing for an operator.
  expect(summary.counts).toMatchObject({ migrated: 0, skipped: 1, refused: 0, dirty: 1 });
  expect(run.code).toBe(1);
  for (const [i, key] of ["stub.bin", "dirty.bin"].entries()) {
    const head = await t.target.head(`archive/${key}`);
    expect(head?.etag).toBe(heads[i]?.etag as string);
    expect(head?.meta?.attempt).toBe(heads[i]?.meta?.attempt as string);
  }

  const restore = await t.tier("restore", [t.box.src]);
  expect(restore.code).toBe(1);
  const byPath = Object.fromEntries(restore.outcomes.map((o) => [o.path, o]));
  expect(byPath[stub as string]).toMatchObject({ kind: "restored" });
  expect(byPath[dirty as string]).toMatchObject({ kind: "dirty" });
  expect(readFileSync(dirty as string, "utf8")).toBe("new bytes written into the stub");
  expect(await currentState(dirty as string)).toMatchObject({ state: "released" });
  // The operator decides: restore --force drops the new bytes for the archived ones.
  const forced = await t.tier("restore", [dirty as string], ["--force"]);
  expect(forced.outcomes[0]).toMatchObject({ kind: "restored" });
  expect(Buffer.compare(readFileSync(dirty as string), Buffer.from(randomBytes(6000, 5)))).toBe(0);
  t.target.close();
});

test("migrate refuses a released file holding the first bytes of its object (a restore that stopped part way): refused, not dirty, never uploaded; restore finishes it", async () => {
  const t = await tierBox();
  const data = randomBytes(3 * MiB, 41);
  const [path] = await t.migrate({ "partial.bin": data });
  const file = path as string;
  expect((await t.tier("release", [file])).json.counts.released).toBe(1);
  const before = await t.target.head("archive/partial.bin");
  // What a restore stopped after its first chunks leaves: the object's first bytes, in place.
  writeAt(file, 0, data.subarray(0, MiB));
  // ls (no store) says partial; verify reads the object and says so too, not dirty.
  const ls = await cli(["ls", "--json", file], t.box.env);
  expect(JSON.parse(ls.stdout.split("\n")[0] as string)).toMatchObject({ tier: "partial" });
  const verify = await cli(["verify", "--json", file], t.box.env);
  const found = JSON.parse(verify.stdout.split("\n")[0] as string);
  expect(found).toMatchObject({ kind: "partial" });
  expect(found.detail).toContain("restore it to finish");
  expect((await cli(["submit", "--node", "a", "--request-id", "p", file], t.box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once", "--json"], t.box.env);
  const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) as string);
  expect(summary.counts).toMatchObject({ migrated: 0, refused: 1, dirty: 0 });
  expect(run.code).toBe(1);
  const events = (await cli(["events", "--node", "a"], t.box.env)).stdout;
  const refused = events.split("\n").find((l) => l.includes('"outcome":"refused"')) ?? "";
  expect(refused).toContain(`holds the first ${MiB} of its ${3 * MiB} archived bytes`);
  expect(refused).toContain("restore it to finish");
  // run's own line says why too, not just "refused: PATH".
  expect(run.stderr).toContain(`holds the first ${MiB} of its ${3 * MiB} archived bytes`);
  const after = await t.target.head("archive/partial.bin");
  expect(after?.meta?.attempt).toBe(before?.meta?.attempt as string);
  expect(await currentState(file)).toMatchObject({ state: "released" });
  // Restore finishes the interrupted one.
  const restore = await t.tier("restore", [file]);
  expect(restore.outcomes[0]).toMatchObject({ kind: "restored" });
  expect(Buffer.compare(readFileSync(file), Buffer.from(data))).toBe(0);
  t.target.close();
});

test("restore reads only from the configured target: after the config's target changed, a released file is refused (not lost), untouched; pointed back, it restores", async () => {
  const t = await tierBox();
  const data = randomBytes(200_000, 42);
  const [path] = await t.migrate({ "moved.bin": data });
  const file = path as string;
  expect((await t.tier("release", [file])).json.counts.released).toBe(1);
  const before = t.box.config.target;
  const s3 = await s3Service();
  t.box.setConfig({ target: `s3://${await newBucket(s3.endpoint)}/elsewhere` });
  const refused = await t.tier("restore", [file]);
  expect(refused.code).toBe(1);
  expect(refused.outcomes[0]).toMatchObject({ kind: "refused" });
  expect(refused.outcomes[0].reason).toContain(`its state names target ${before}`);
  expect(statSync(file).size).toBe(0);
  expect(await currentState(file)).toMatchObject({ state: "released" });
  t.box.setConfig({ target: before });
  const restore = await t.tier("restore", [file]);
  expect(restore.outcomes[0]).toMatchObject({ kind: "restored" });
  expect(Buffer.compare(readFileSync(file), Buffer.from(data))).toBe(0);
  t.target.close();
});

test("migrate meeting a released file whose object is gone: lost, its bytes never uploaded (an upload would hide the loss); a file another process is restoring is busy, not refused", async () => {
  const t = await tierBox();
  const data = randomBytes(2 * MiB, 43);
  const [gone, busyFile] = await t.migrate({ "gone.bin": data, "held.bin": randomBytes(MiB, 44) });
  expect((await t.tier("release", [gone as string, busyFile as string])).json.counts.released).toBe(
    2,
  );
  // What a restore stopped part way leaves, then the object deleted behind tiermv's back.
  writeAt(gone as string, 0, data.subarray(0, 4096));
  const bucket = t.box.config.target.slice("s3://".length).split("/")[0];
  const client = s3Client(t.box.config.s3.endpoint as string);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "archive/gone.bin" }));
  client.destroy();
  // A restore of the other file, held after its first pwrite (its epoch taken, bytes written).
  const restoring = spawnCli(["restore", "--node", "b", "--json", busyFile as string], {
    ...t.box.env,
    TIERMV_PAUSE_AT: "restore-mid-copy",
  });
  try {
    await stoppedAt(restoring.pid);
    expect(statSync(busyFile as string).size).toBe(MiB);
    const submit = [
      "submit",
      "--node",
      "a",
      "--request-id",
      "g",
      gone as string,
      busyFile as string,
    ];
    expect((await cli(submit, t.box.env)).code).toBe(0);
    const run = await cli(["run", "--node", "a", "--once", "--json"], t.box.env);
    const counts = JSON.parse(run.stdout.trim().split("\n").at(-1) as string).counts;
    expect(counts).toMatchObject({ migrated: 0, lost: 1, busy: 1, refused: 0, dirty: 0 });
    expect(run.stderr).toContain(
      "the released bytes are lost; the 4096 bytes here are not uploaded",
    );
    expect(await t.target.head("archive/gone.bin")).toBeNull();
    process.kill(restoring.pid, "SIGCONT");
    expect(await restoring.exited).toBe(0);
  } finally {
    // A failed check must not leave the stopped restore behind.
    if (restoring.exitCode === null) restoring.kill("SIGKILL");
    t.target.close();
  }
});

test("an object deleted or overwritten behind tiermv's back: release refuses; after a release, restore reports lost and leaves the stub", async () => {
  const t = await tierBox();
  const [gone, other, later] = await t.migrate({
    "gone.bin": randomBytes(4000, 6),
    "other.bin": randomBytes(4000, 7),
    "later.bin": randomBytes(4000, 8),
  });
  const client = s3Client(t.box.config.s3.endpoint as string);
  const bucket = t.box.config.target.slice("s3://".length).split("/")[0];
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "archive/gone.bin" }));
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: "archive/other.bin", Body: randomBytes(4000, 9) }),
  );
  const release = await t.tier("release", [gone as string, other as string]);
  expect(release.code).toBe(1);
  const reasons = Object.fromEntries(
    release.outcomes.map((o) => [o.path, `${o.kind}: ${o.reason}`]),
  );
  expect(reasons[gone as string]).toStartWith("refused: its object archive/gone.bin is missing");
  expect(reasons[other as string]).toStartWith("refused: its object archive/other.bin differs");
  expect(statSync(gone as string).size).toBe(4000);
  expect(statSync(other as string).size).toBe(4000);

  expect((await t.tier("release", [later as string])).json.counts.released).toBe(1);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "archive/later.bin" }));
  const restore = await t.tier("restore", [later as string]);
  expect(restore.code).toBe(1);
  expect(restore.outcomes[0]).toMatchObject({ kind: "lost" });
  expect(statSync(later as string).size).toBe(0);
  expect(await currentState(later as string)).toMatchObject({ state: "released" });
  client.destroy();
  t.target.close();
});
