/**
 * kill -9 of `tiermv release` and `tiermv restore` at every step (test-only crash points), then
 * a rerun on the same node: the file is always recoverable: restore brings back its bytes and
 * mtime, and a release after that frees it again.
 */
import { expect, test } from "bun:test";
import { linkSync, readFileSync, statSync } from "node:fs";
import { cli, randomBytes } from "../helpers.ts";
import { currentState, mtimeNsOf, outboxEvents, tierBox } from "./tier_helpers.ts";

const MiB = 1024 * 1024;
const KILLED = 137;

for (const point of [
  "release-after-take",
  "release-after-decide",
  "release-before-truncate",
  "release-after-truncate",
]) {
  test(`kill -9 at ${point}: restore brings the bytes and mtime back, a release frees them again`, async () => {
    const t = await tierBox();
    const data = randomBytes(3 * MiB + 5, 11);
    const [path] = await t.migrate({ "f.bin": data });
    const file = path as string;
    const mtime = mtimeNsOf(file);
    const crashed = await t.tier("release", [file], [], { TIERMV_CRASH_AT: point });
    expect(crashed.code).toBe(KILLED);
    const restore = await t.tier("restore", [file]);
    expect(restore.code).toBe(0);
    // Killed before its decision, the release changed nothing: nothing to restore (skipped).
    const restored = point === "release-after-take" ? "skipped" : "restored";
    expect(restore.outcomes[0]?.kind).toBe(restored);
    expect(Buffer.compare(readFileSync(file), Buffer.from(data))).toBe(0);
    expect(mtimeNsOf(file)).toBe(mtime);
    expect(await currentState(file)).toMatchObject({ state: "migrated" });
    const release = await t.tier("release", [file]);
    expect(release.outcomes[0]).toMatchObject({ kind: "released" });
    expect(statSync(file).size).toBe(0);
    t.target.close();
  });
}

for (const point of [
  "restore-after-take",
  "restore-mid-copy",
  "restore-after-baseline",
  "restore-after-copy",
  "restore-before-times",
  "restore-after-times",
]) {
  test(`kill -9 at ${point}: the next restore finishes it, byte-identical with the mtime`, async () => {
    const t = await tierBox();
    // 17 MiB: three chunks, so mid-copy leaves an interrupted restore (a prefix).
    const data = randomBytes(17 * MiB, 12);
    const [path] = await t.migrate({ "f.bin": data });
    const file = path as string;
    const mtime = mtimeNsOf(file);
    expect((await t.tier("release", [file])).outcomes[0]?.kind).toBe("released");
    const crashed = await t.tier("restore", [file], [], { TIERMV_CRASH_AT: point });
    expect(crashed.code).toBe(KILLED);
    if (point === "restore-mid-copy" || point === "restore-after-baseline")
      expect(statSync(file).size).toBe(8 * MiB);
    const again = await t.tier("restore", [file]);
    expect(again.code).toBe(0);
    expect(again.outcomes[0]).toMatchObject({ kind: "restored" });
    expect(Buffer.compare(readFileSync(file), Buffer.from(data))).toBe(0);
    expect(mtimeNsOf(file)).toBe(mtime);
    expect(await currentState(file)).toMatchObject({ state: "migrated" });
    t.target.close();
  });
}

test("a release task killed after its truncate, run again: its own release is reported released again (the event kept, same id); a later release of the stub is skipped", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "t.bin": randomBytes(70_000, 13) });
  const file = path as string;
  const submit = await cli(["submit", "--node", "a", "--action", "release", file], t.box.env);
  expect(submit.code).toBe(0);
  const crashed = await cli(["run", "--node", "a", "--once"], {
    ...t.box.env,
    TIERMV_CRASH_AT: "release-after-truncate",
  });
  expect(crashed.code).toBe(KILLED);
  expect(statSync(file).size).toBe(0);
  // The same task, resumed from running/: its own release, found done, is reported again.
  const resumed = await cli(["run", "--node", "a", "--once"], t.box.env);
  expect(resumed.code).toBe(0);
  const released = outboxEvents(t.box.spool).filter((e) => e.outcome === "released");
  expect(released).toHaveLength(1);
  // Its id is the release's attempt, recorded in the state: a re-report keeps it.
  const state = await currentState(file);
  expect(state?.releasedAttempt).toBeString();
  expect(released[0]).toMatchObject({
    path: file,
    bytes: 70_000,
    eventId: `${state?.releasedAttempt}:released`,
  });
  // Another command meeting the stub: skipped, nothing counted.
  const again = await t.tier("release", [file]);
  expect(again.outcomes[0]).toMatchObject({ kind: "skipped" });
  t.target.close();
});

test("a hard link to a file a release task released under another name is not reported released a second time (its state names the other path's key)", async () => {
  // One file at a time, a.bin first: b.bin then finds the stub this very command released.
  const t = await tierBox({ migrate: { concurrency: 1, uploadRetryBaseMs: 10 } });
  const [path] = await t.migrate({ "h/a.bin": randomBytes(50_000, 14) });
  const link = `${t.box.src}/h/b.bin`;
  linkSync(path as string, link);
  const release = await t.tier("release", [path as string, link]);
  // The same inode under a name whose key the state does not name: skipped, not released again.
  expect(release.outcomes.map((o) => o.kind)).toEqual(["released", "skipped"]);
  expect(release.json.counts.released).toBe(1);
  expect(release.json.bytes).toBe(50_000);
  expect(statSync(link).size).toBe(0);
  t.target.close();
});
