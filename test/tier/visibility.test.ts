/**
 * What operators see of tiering: `ls` gives each file's tier state with its original size,
 * `inspect` the same, and `verify` reports a released file whose object is gone as `lost` (first
 * among the findings, as an error) and a stub written to as `dirty`.
 */
import { expect, test } from "bun:test";
import { appendFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { cli, lastJsonLine, randomBytes, startServe } from "../helpers.ts";
import { s3Client } from "../services/shared.ts";
import { tierBox } from "./tier_helpers.ts";

/** verify --json's findings: one JSON object per line, then the summary. */
const findingsOf = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .slice(0, -1)
    .map((l) => JSON.parse(l));

test("ls and inspect show released (with the original size), dirty, changed, migrated and unmigrated; verify reports lost first and dirty", async () => {
  const t = await tierBox();
  const [released, dirty, gone, changed, kept] = await t.migrate({
    "released.bin": randomBytes(10_000, 51),
    "dirty.bin": randomBytes(11_000, 52),
    "gone.bin": randomBytes(12_000, 53),
    "changed.bin": randomBytes(13_000, 54),
    "kept.bin": randomBytes(14_000, 55),
  });
  const fresh = t.box.file("fresh.bin", randomBytes(15_000, 56));
  await t.tier("release", [released as string, dirty as string, gone as string]);
  appendFileSync(dirty as string, "written into the stub");
  appendFileSync(changed as string, "more");
  const bucket = t.box.config.target.slice("s3://".length).split("/")[0];
  const client = s3Client(t.box.config.s3.endpoint as string);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "archive/gone.bin" }));
  client.destroy();

  const ls = await cli(["ls", "--json", t.box.src], t.box.env);
  expect(ls.code).toBe(0);
  const lines = ls.stdout.trim().split("\n");
  const entries = Object.fromEntries(
    lines.slice(0, -1).map((l) => [JSON.parse(l).path, JSON.parse(l)]),
  );
  expect(entries[released as string]).toMatchObject({
    tier: "released",
    size: 0,
    archivedSize: 10_000,
  });
  // Fewer bytes than archived: ls cannot tell a stub written to from a restore stopped part way
  // without the store (verify, below, reads the object and says dirty).
  expect(entries[dirty as string]).toMatchObject({
    tier: "partial",
    size: 21,
    archivedSize: 11_000,
  });
  expect(entries[gone as string]).toMatchObject({
    tier: "released",
    size: 0,
    archivedSize: 12_000,
  });
  expect(entries[changed as string]).toMatchObject({ tier: "changed", size: 13_004 });
  expect(entries[kept as string]).toMatchObject({ tier: "migrated", size: 14_000 });
  expect(entries[fresh]).toMatchObject({ tier: "unmigrated", archivedSize: null });
  expect(lastJsonLine(ls.stdout).summary).toMatchObject({
    files: { released: 2, partial: 1, dirty: 0, changed: 1, migrated: 1, unmigrated: 1 },
    releasedBytes: 22_000,
  });

  const inspect = await cli(["inspect", released as string], t.box.env);
  expect(inspect.stdout).toContain(
    "tier:   released, 0 bytes here, 10000 archived at archive/released.bin",
  );

  const verify = await cli(["verify", "--json", t.box.src], t.box.env);
  expect(verify.code).toBe(1);
  const findings = findingsOf(verify.stdout);
  const byPath = Object.fromEntries(findings.map((f) => [f.path, f]));
  expect(byPath[gone as string]).toMatchObject({ kind: "lost" });
  expect(byPath[gone as string].detail).toContain("missing");
  expect(byPath[dirty as string]).toMatchObject({ kind: "dirty" });
  expect(byPath[released as string]).toBeUndefined();
  const summary = lastJsonLine(verify.stdout).summary;
  expect(summary).toMatchObject({ released: 1, committed: 1, findings: { lost: 1, dirty: 1 } });
  expect(Object.keys(summary.findings)[0]).toBe("lost");
  const text = await cli(["verify", t.box.src], t.box.env);
  expect(text.stderr).toMatch(/ERROR.*lost.*gone\.bin/);
  t.target.close();
});

test("verify: the object of a released stub renamed away is no stray (it is the stub's only copy); the renamed stub is told to restore first", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "old/r1.bin": randomBytes(9_000, 59) });
  expect((await t.tier("release", [path as string])).json.counts.released).toBe(1);
  const renamed = join(t.box.src, "renamed.bin");
  renameSync(path as string, renamed);
  const verify = await cli(["verify", "--json", t.box.src], t.box.env);
  expect(verify.code).toBe(1);
  const findings = findingsOf(verify.stdout);
  expect(findings.map((f) => f.kind)).toEqual(["key-mismatch"]);
  expect(findings[0]).toMatchObject({ path: renamed });
  expect(findings[0].detail).toContain("restore it (its bytes come back from archive/old/r1.bin)");
  t.target.close();
});

test("verify: the old object of a migrated file renamed away is a stray, named with the file that names it and what to do", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "old/m1.bin": randomBytes(8_000, 60) });
  const renamed = join(t.box.src, "moved.bin");
  renameSync(path as string, renamed);
  const verify = await cli(["verify", "--json", t.box.src], t.box.env);
  expect(verify.code).toBe(1);
  const findings = findingsOf(verify.stdout);
  expect(findings.map((f) => f.kind).sort()).toEqual(["key-mismatch", "stray-object"]);
  const stray = findings.find((f) => f.kind === "stray-object");
  expect(stray).toMatchObject({ key: "archive/old/m1.bin" });
  expect(stray.detail).toContain(
    `named only by the state of ${renamed}, a file renamed from this key`,
  );
  expect(stray.detail).toContain("migrate it again (under its own key), then delete this object");
  // ls says it too (release refuses the file; migrate archives it again).
  const ls = await cli(["ls", "--json", t.box.src], t.box.env);
  const entry = ls.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .find((e) => e.path === renamed);
  expect(entry).toMatchObject({ tier: "migrated", elsewhere: "archive/old/m1.bin" });
  const text = await cli(["ls", t.box.src], t.box.env);
  expect(text.stdout).toContain(
    "its state names archive/old/m1.bin, not this path (renamed: migrate it again)",
  );
  t.target.close();
});

test("status and /metrics count bytes released and restored and restore latency per node", async () => {
  const t = await tierBox();
  const paths = await t.migrate({
    "a.bin": randomBytes(300_000, 57),
    "b.bin": randomBytes(500_000, 58),
  });
  await t.tier("release", paths);
  await t.tier("restore", [paths[0] as string]);
  const status = await cli(["status", "--json"], t.box.env);
  const a = JSON.parse(status.stdout).find((r: { node: string }) => r.node === "a");
  expect(a).toMatchObject({ releasedBytes: 800_000, restoredBytes: 300_000 });
  await using served = await startServe(t.box);
  const text = await (await fetch(`${served.url}/metrics`)).text();
  expect(text).toContain('tiermv_released_bytes_total{node="a"} 800000');
  expect(text).toContain('tiermv_restored_bytes_total{node="a"} 300000');
  expect(text).toContain('tiermv_restore_duration_seconds_count{node="a"} 1');
  expect(text).toContain('tiermv_files_total{node="a",outcome="released"} 2');
  t.target.close();
});
