/**
 * `tiermv scan`: a policy selects files by age (mtime and ctime), size, globs and marks; a dry
 * run counts files and bytes and changes nothing; `--action release` releases what it selects;
 * `--action migrate` prints paths for `submit --from -`.
 */
import { expect, test } from "bun:test";
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { cli, randomBytes, sandbox } from "../helpers.ts";
import { rt, tierBox } from "./tier_helpers.ts";

const DAY = 86_400_000;
/** A dry run of `scan --action release` selecting by nothing but release's own rules. */
const RELEASE_DRY_RUN = [
  ...["scan", "--json", "--node", "a", "--action", "release"],
  ...["--older-than", "0s", "--dry-run"],
];
const old = new Date(Date.now() - 100 * DAY);

function scanSummary(stderr: string) {
  const line = stderr
    .trim()
    .split("\n")
    .findLast((l) => l.startsWith('{"scan"'));
  return JSON.parse(line as string).scan;
}

test("scan selects by mtime/ctime age, size, globs and marks; --dry-run changes nothing; --action release releases the selection", async () => {
  const t = await tierBox();
  const [big, small, scratch, marked] = await t.migrate(
    {
      "p/big.bin": randomBytes(2_000_000, 61),
      "p/small.bin": randomBytes(1000, 62),
      "scratch/big.bin": randomBytes(2_000_000, 63),
      "p/marked.bin": randomBytes(2_000_000, 64),
    },
    { mtime: old },
  );
  await rt.xattr.set(marked as string, "user.tiermv.norelease", new Uint8Array(), "any");
  const fresh = t.box.file("p/fresh.bin", randomBytes(2_000_000, 65));
  const args = [
    "--action",
    "release",
    "--older-than",
    "30d",
    "--larger-than",
    "1MiB",
    "--exclude",
    "scratch/**",
  ];

  const dry = await cli(
    ["scan", "--json", "--node", "a", ...args, "--dry-run", t.box.src],
    t.box.env,
  );
  expect(dry.code).toBe(0);
  const s = scanSummary(dry.stderr);
  // mtime is 100 days old, but ctime is now (migrate's records): nothing is old enough yet,
  // and the count says which clock (the fresh file's mtime, the others' ctime).
  expect(s).toMatchObject({
    files: 5,
    selected: 0,
    bytes: 0,
    skipped: {
      excluded: 1,
      "too small": 1,
      "too recent (mtime)": 1,
      "too recent (ctime)": 2,
    },
  });

  // A policy on mtime alone is not offered: ctime ages with the file. Here: age 0 selects.
  const zero = [
    "--action",
    "release",
    "--older-than",
    "0s",
    "--larger-than",
    "1MiB",
    "--exclude",
    "scratch/**",
  ];
  const dry0 = await cli(
    ["scan", "--json", "--node", "a", ...zero, "--dry-run", t.box.src],
    t.box.env,
  );
  expect(scanSummary(dry0.stderr)).toMatchObject({
    files: 5,
    selected: 1,
    bytes: 2_000_000,
    skipped: { "too small": 1, excluded: 1, "marked user.tiermv.norelease": 1, unmigrated: 1 },
  });
  for (const p of [big, small, scratch, marked, fresh])
    expect(statSync(p as string).size).toBeGreaterThan(0);

  const run = await cli(["scan", "--json", "--node", "a", ...zero, t.box.src], t.box.env);
  expect(run.code).toBe(0);
  expect(statSync(big as string).size).toBe(0);
  for (const p of [small, scratch, marked, fresh])
    expect(statSync(p as string).size).toBeGreaterThan(0);
  // Again: the stub is counted as released, not as too small for the policy's size.
  const after = await cli(
    ["scan", "--json", "--node", "a", ...zero, "--dry-run", t.box.src],
    t.box.env,
  );
  expect(scanSummary(after.stderr)).toMatchObject({
    selected: 0,
    skipped: { released: 1, "too small": 1 },
  });

  const migrate = await cli(
    ["scan", "--json", "--node", "a", "--action", "migrate", "--older-than", "0s", t.box.src],
    t.box.env,
  );
  expect(migrate.stdout.trim().split("\n")).toEqual([fresh]);
  t.target.close();
});

test("a policy from the config (scan --policy NAME, for cron lines); an invalid one is refused at load", async () => {
  const t = await tierBox();
  const [big, small] = await t.migrate(
    { "k/big.bin": randomBytes(2_000_000, 66), "k/small.bin": randomBytes(1000, 67) },
    { mtime: old },
  );
  t.box.setConfig({
    policies: { nightly: { action: "release", olderThan: "0s", largerThan: "1MiB" } },
  });
  const run = await cli(
    ["scan", "--json", "--node", "a", "--policy", "nightly", t.box.src],
    t.box.env,
  );
  expect(run.code).toBe(0);
  expect(statSync(big as string).size).toBe(0);
  expect(statSync(small as string).size).toBe(1000);
  const unknown = await cli(
    ["scan", "--json", "--node", "a", "--policy", "weekly", t.box.src],
    t.box.env,
  );
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('No policy "weekly"');
  // Written as an operator would: the config check refuses it before anything runs.
  const document = JSON.parse(readFileSync(t.box.configPath, "utf8"));
  document.policies = { bad: { action: "release", olderThan: "30 days" } };
  writeFileSync(t.box.configPath, JSON.stringify(document));
  const bad = await cli(["scan", "--json", "--node", "a", "--policy", "bad", t.box.src], t.box.env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("policies.bad.olderThan");
  t.target.close();
});

test("scan --action migrate | submit --from -: a name with a newline is left out and said (it would read as two paths), an absolute --exclude under the root excludes, one elsewhere is refused", async () => {
  const t = await tierBox();
  t.box.file("n/plain.txt", "plain");
  t.box.file("n/two\nlines.txt", "two lines");
  t.box.file("n/skip.log", "skip");
  const args = ["scan", "--json", "--node", "a", "--action", "migrate", "--older-than", "0s"];
  const exclude = ["--exclude", `${t.box.src}/n/*.log`];
  const scan = await cli([...args, ...exclude, `${t.box.src}/n`], t.box.env);
  expect(scan.code).toBe(0);
  expect(scan.stdout.trim().split("\n")).toEqual([`${t.box.src}/n/plain.txt`]);
  expect(scanSummary(scan.stderr).skipped).toEqual({
    excluded: 1,
    "a newline in its name (submit it by its path: tiermv submit PATH)": 1,
  });
  // ls shows the name on one line, quoted.
  const ls = await cli(["ls", `${t.box.src}/n`], t.box.env);
  expect(ls.stdout).toContain(JSON.stringify(`${t.box.src}/n/two\nlines.txt`));
  const elsewhere = await cli([...args, "--exclude", "/tmp/*.log", `${t.box.src}/n`], t.box.env);
  expect(elsewhere.code).toBe(2);
  expect(elsewhere.stderr).toContain('glob "/tmp/*.log" is absolute and not under the source root');
  t.target.close();
});

test("scan --action release counts only what release would take: a state for another key (a renamed file) or without a version (s3.releaseUnversioned off) is left out, with why, as release refuses it", async () => {
  const t = await tierBox();
  const [kept, moved] = await t.migrate({
    "v/kept.bin": randomBytes(10_000, 71),
    "v/moved.bin": randomBytes(10_000, 72),
  });
  const renamed = `${t.box.src}/v/renamed.bin`;
  renameSync(moved as string, renamed);
  const args = RELEASE_DRY_RUN;
  const opted = await cli([...args, t.box.src], t.box.env);
  expect(scanSummary(opted.stderr)).toMatchObject({
    selected: 1,
    bytes: 10_000,
    skipped: {
      "renamed, or migrated to another target (migrate it first: scan --action migrate selects it)": 1,
    },
  });
  // What it is told to do: scan --action migrate selects the renamed file (its state names the
  // old key), and only it.
  const migrate = ["scan", "--json", "--node", "a", "--action", "migrate", "--older-than", "0s"];
  const toMigrate = await cli([...migrate, t.box.src], t.box.env);
  expect(toMigrate.stdout.trim().split("\n")).toEqual([renamed]);
  expect(scanSummary(toMigrate.stderr).skipped).toEqual({ migrated: 1 });
  // s3proxy keeps no versions: without the operator's opt-in release refuses both, and so does
  // the count (it said 1 file, 10 kB to be freed, where release would free nothing).
  t.box.setConfig({ s3: { ...t.box.config.s3, releaseUnversioned: false } });
  const unversioned = await cli([...args, t.box.src], t.box.env);
  expect(scanSummary(unversioned.stderr)).toMatchObject({
    selected: 0,
    bytes: 0,
    skipped: {
      "not versioned (enable versioning on the bucket, or set s3.releaseUnversioned)": 1,
      "renamed, or migrated to another target (migrate it first: scan --action migrate selects it)": 1,
    },
  });
  const release = await t.tier("release", [kept as string, renamed]);
  expect(release.outcomes.map((o) => o.kind)).toEqual(["refused", "refused"]);
  expect(statSync(kept as string).size).toBe(10_000);
  t.target.close();
});

test("scan --action release on a file:// target without s3.releaseUnversioned leaves the files out with the directory target's own advice (no bucket to version)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` }); // removed with the sandbox
  const file = box.file("d/a.bin", randomBytes(5000, 73));
  expect((await cli(["submit", "--node", "a", file], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
  const args = RELEASE_DRY_RUN;
  const scan = await cli([...args, box.src], box.env);
  expect(scanSummary(scan.stderr)).toMatchObject({
    selected: 0,
    skipped: {
      "on a file:// target, which keeps one copy per key (set s3.releaseUnversioned to release there)": 1,
    },
  });
  expect(scan.stderr).not.toContain("bucket");
});

test("a bare `scan DIR` (no --action, no --policy) is refused, exit 2, and releases nothing; without --json no JSON line is printed", async () => {
  const t = await tierBox();
  const [file] = await t.migrate({ "b/kept.bin": randomBytes(5000, 74) });
  const bare = await cli(["scan", "--node", "a", t.box.src], t.box.env);
  expect(bare.code).toBe(2);
  expect(bare.stderr).toContain("Say what the scan is for: --action release");
  expect(statSync(file as string).size).toBe(5000);
  // A dry run only counts: it may count for release without being told.
  const dry = await cli(["scan", "--node", "a", "--dry-run", t.box.src], t.box.env);
  expect(dry.code).toBe(0);
  expect(dry.stderr).toContain("scan (release, dry run): 1 files, 1 selected");
  expect(dry.stderr).not.toContain('{"scan"');
  t.target.close();
});
