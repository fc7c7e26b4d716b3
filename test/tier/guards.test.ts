/**
 * Each guard of release and restore (docs/tiering.md; the model's mutants in docs/model) has a
 * test here that fails when the guard is removed: a process is stopped at a pause point
 * (TIERMV_PAUSE_AT, SIGSTOP to itself), the test acts (a writer, a second process), then
 * resumes it.
 */
import { expect, test } from "bun:test";
import { appendFileSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { cli, randomBytes, sandbox, spawnCli } from "../helpers.ts";
import {
  currentState,
  mtimeNsOf,
  outboxEvents,
  rt,
  stoppedAt,
  tierBox,
  writeAt,
} from "./tier_helpers.ts";

const MiB = 1024 * 1024;

/**
 * Starts `tiermv ACTION --json FILE` stopped at `point`; returns the process once stopped.
 * Disposing kills it if a failed assertion left it stopped (`await using`).
 */
async function pausedAt(
  t: Awaited<ReturnType<typeof tierBox>>,
  action: string,
  file: string,
  point: string,
) {
  const proc = spawnCli([action, "--node", "a", "--json", file], {
    ...t.box.env,
    TIERMV_PAUSE_AT: point,
  });
  try {
    await stoppedAt(proc.pid);
  } catch (err) {
    proc.kill("SIGKILL"); // it never stopped there: not left running
    throw err;
  }
  return {
    async resume() {
      process.kill(proc.pid, "SIGCONT");
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      return { code, outcome: JSON.parse(stdout.trim().split("\n")[0] as string) };
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

test("restore's chunk fence: a write into a later chunk during the transfer stops the restore, and the written bytes stay", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "f.bin": randomBytes(17 * MiB, 21) });
  const file = path as string;
  await t.tier("release", [file]);
  await using restore = await pausedAt(t, "restore", file, "restore-mid-copy:1");
  // The first chunk is in; the writer writes where the second chunk would go.
  writeAt(file, 9 * MiB, "WRITER");
  const { code, outcome } = await restore.resume();
  expect(code).toBe(1);
  expect(outcome).toMatchObject({ kind: "dirty" });
  expect(
    readFileSync(file)
      .subarray(9 * MiB, 9 * MiB + 6)
      .toString(),
  ).toBe("WRITER");
  expect(await currentState(file)).toMatchObject({ state: "released" });
  t.target.close();
});

test("restore's last fence: a write after the verify keeps its own mtime and the file is not called restored", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "f.bin": randomBytes(300_000, 22) });
  const file = path as string;
  const original = mtimeNsOf(file);
  await t.tier("release", [file]);
  await using restore = await pausedAt(t, "restore", file, "restore-before-times");
  writeAt(file, 100, "same size, other bytes");
  const written = mtimeNsOf(file);
  const { code, outcome } = await restore.resume();
  expect(code).toBe(1);
  expect(outcome).toMatchObject({ kind: "dirty" });
  expect(mtimeNsOf(file)).toBe(written);
  expect(written).not.toBe(original);
  expect(readFileSync(file).subarray(100, 122).toString()).toBe("same size, other bytes");
  expect(await currentState(file)).toMatchObject({ state: "released" });
  t.target.close();
});

test("release's re-check after its decision: a write before the truncate is not truncated", async () => {
  const t = await tierBox();
  const data = randomBytes(200_000, 23);
  const [path] = await t.migrate({ "f.bin": data });
  const file = path as string;
  await using release = await pausedAt(t, "release", file, "release-after-decide");
  appendFileSync(file, "appended after the checks");
  const { code, outcome } = await release.resume();
  expect(code).toBe(1);
  expect(outcome).toMatchObject({ kind: "dirty" });
  expect(statSync(file).size).toBe(data.length + 25);
  t.target.close();
});

test("the flock: a restore while a release holds the file is busy, on the same file's other descriptor", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "f.bin": randomBytes(100_000, 24) });
  const file = path as string;
  await using release = await pausedAt(t, "release", file, "release-after-decide");
  const restore = await t.tier("restore", [file]);
  expect(restore.outcomes[0]).toMatchObject({ kind: "busy" });
  expect(restore.outcomes[0].holder).toContain("flock");
  // Nothing retries it here: not done, so exit 1, and the line says to run it again.
  expect(restore.code).toBe(1);
  const text = await cli(["restore", "--node", "a", file], t.box.env);
  expect(text.code).toBe(1);
  expect(text.stderr).toContain("not retried by this command: run restore again once it is free");
  const { outcome } = await release.resume();
  expect(outcome).toMatchObject({ kind: "released" });
  expect(statSync(file).size).toBe(0);
  t.target.close();
});

test("the identity check: a renamed file's state names another key, and release refuses it", async () => {
  const t = await tierBox();
  const [path] = await t.migrate({ "old-name.bin": randomBytes(5000, 25) });
  const renamed = join(t.box.src, "new-name.bin");
  renameSync(path as string, renamed);
  const release = await t.tier("release", [renamed]);
  expect(release.code).toBe(1);
  expect(release.outcomes[0]).toMatchObject({ kind: "refused" });
  expect(release.outcomes[0].reason).toContain("archive/old-name.bin");
  expect(statSync(renamed).size).toBe(5000);
  t.target.close();
});

test("a norelease mark is respected; a changed file and an unmigrated one are refused", async () => {
  const t = await tierBox();
  const [marked, changed] = await t.migrate({
    "marked.bin": randomBytes(5000, 26),
    "changed.bin": randomBytes(5000, 27),
  });
  await rt.xattr.set(marked as string, "user.tiermv.norelease", new Uint8Array(), "any");
  appendFileSync(changed as string, "more");
  const fresh = t.box.file("fresh.bin", randomBytes(5000, 28));
  const release = await t.tier("release", [marked as string, changed as string, fresh]);
  expect(release.code).toBe(1);
  const reasons = Object.fromEntries(release.outcomes.map((o) => [o.path, o.reason]));
  expect(reasons[marked as string]).toContain("norelease");
  expect(reasons[changed as string]).toContain("changed since it was migrated");
  expect(reasons[fresh]).toContain("not migrated");
  for (const p of [marked, changed, fresh]) expect(statSync(p as string).size).toBeGreaterThan(0);
  t.target.close();
});

test("--dry-run counts what would be freed and frees nothing; each file is visited once however often it is named", async () => {
  const t = await tierBox();
  const paths = await t.migrate({ "a.bin": randomBytes(7000, 29), "b.bin": randomBytes(9000, 30) });
  // The tree, one of its files again, and that file under another spelling.
  const again = [t.box.src, paths[0] as string, `${t.box.src}/./a.bin`];
  const dry = await t.tier("release", again, ["--dry-run"]);
  expect(dry.code).toBe(0);
  expect(dry.json).toMatchObject({ counts: { released: 2 }, bytes: 0, dryRunBytes: 16_000 });
  expect(dry.outcomes).toHaveLength(2);
  expect(dry.outcomes.every((o) => o.dryRun === true)).toBe(true);
  for (const p of paths) expect(statSync(p).size).toBeGreaterThan(0);
  const text = await cli(["release", "--node", "a", "--dry-run", t.box.src], t.box.env);
  expect(text.stderr).toContain(
    "2 would be released; 0.0 MiB would be freed (dry run: nothing changed)",
  );
  expect(text.code).toBe(0);
  // A dry run says nothing to Kafka, not even of a file it would skip (a stub) or refuse.
  await t.tier("release", [paths[1] as string]);
  const eventsBefore = outboxEvents(t.box.spool).length;
  const mixed = await t.tier("release", [t.box.src], ["--dry-run"]);
  expect(mixed.json.counts).toMatchObject({ released: 1, skipped: 1 });
  expect(outboxEvents(t.box.spool)).toHaveLength(eventsBefore);
  t.target.close();
});

test("remove refuses on an unversioned bucket (a late DELETE by key could remove a later commit) and for a released file", async () => {
  const t = await tierBox();
  const [kept, released] = await t.migrate({
    "kept.bin": randomBytes(3000, 31),
    "rel.bin": randomBytes(3000, 32),
  });
  await t.tier("release", [released as string]);
  const remove = await t.tier("remove", [kept as string, released as string]);
  expect(remove.code).toBe(1);
  const reasons = Object.fromEntries(remove.outcomes.map((o) => [o.path, o.reason]));
  expect(reasons[kept as string]).toContain("needs a versioned bucket");
  expect(reasons[released as string]).toContain("only copy");
  expect(await t.target.head("archive/kept.bin")).not.toBeNull();
  expect(await t.target.head("archive/rel.bin")).not.toBeNull();
  t.target.close();
});

test("release on a bucket without versioning is refused unless s3.releaseUnversioned (a new file at a renamed stub's key would overwrite its only copy)", async () => {
  const t = await tierBox({ s3: { releaseUnversioned: false } });
  const [path] = await t.migrate({ "u.bin": randomBytes(4096, 77) });
  const file = path as string;
  const refused = await t.tier("release", [file]);
  expect(refused.code).toBe(1);
  expect(refused.outcomes[0]).toMatchObject({ kind: "refused" });
  expect(refused.outcomes[0].reason).toContain("s3.releaseUnversioned");
  expect(refused.outcomes[0].reason).toContain("enable versioning on the bucket");
  expect(statSync(file).size).toBe(4096);
  t.box.setConfig({ s3: { ...t.box.config.s3, releaseUnversioned: true } });
  expect((await t.tier("release", [file])).outcomes[0]).toMatchObject({ kind: "released" });
  expect(statSync(file).size).toBe(0);
});

test("release on a file:// target is refused unless s3.releaseUnversioned, in the words of a directory target (no bucket to version)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const file = box.file("f.bin", randomBytes(4096, 78));
  expect((await cli(["submit", "--node", "a", file], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
  const refused = await cli(["release", "--node", "a", "--json", file], box.env);
  expect(refused.code).toBe(1);
  const outcome = JSON.parse(refused.stdout.trim().split("\n")[0] as string);
  expect(outcome).toMatchObject({ kind: "refused" });
  expect(outcome.reason).toContain("a file:// target keeps one copy per key");
  expect(outcome.reason).not.toContain("bucket");
  expect(statSync(file).size).toBe(4096);
});
