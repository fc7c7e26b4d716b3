/**
 * A file that cannot be written (chattr +i: EPERM) when its held epoch must be revoked or
 * cleaned: `recover` and `rollback` pause there with a line that names the file and what to do,
 * the epoch stays held (nothing unsafe meanwhile), and a rerun once the file is writable
 * finishes the job. Before, the xattr error went up as a failure of the program (exit 1, "Cannot
 * write xattr"), and the chaos soak's `recover --force` met it on a file it had made immutable.
 */
import { afterAll, expect, test } from "bun:test";
import { startCluster } from "../cluster.ts";
import { cli, randomBytes } from "../helpers.ts";
import { heldOf, recordsOf, stateOf } from "../records.ts";

const KILLED = 137;
const immutable: string[] = [];
afterAll(() => {
  for (const path of immutable) Bun.spawnSync(["chattr", "-i", path]);
});

function chattr(flag: "+i" | "-i", path: string): void {
  const made = Bun.spawnSync(["chattr", flag, path]);
  if (made.exitCode !== 0) throw new Error(`chattr ${flag} ${path}: ${made.stderr.toString()}`);
  if (flag === "+i") immutable.push(path);
}

test("recover --force meets an immutable file whose epoch it must revoke: paused, the file and chattr -i named, the epoch still held; a rerun after chattr -i finishes", async () => {
  await using c = await startCluster(["a", "b"]);
  const path = c.box.file("r/locked.bin", randomBytes(20_000, 71));
  await c.submit("a", [path]);
  expect((await c.run("a", { TIERMV_CRASH_AT: "after-lock" })).code).toBe(KILLED);
  chattr("+i", path);
  const paused = await cli(["recover", "--node", "a", "--force", "--yes"], c.box.env);
  expect(paused.code).toBe(1);
  expect(paused.stderr).toContain("paused");
  expect(paused.stderr).toContain(path);
  expect(paused.stderr).toContain("EPERM");
  expect(paused.stderr).toContain("chattr -i");
  expect(heldOf(await recordsOf(path))).toMatchObject({ undecided: true });
  chattr("-i", path);
  const again = await cli(["recover", "--node", "a", "--force", "--yes"], c.box.env);
  expect(again.code).toBe(0);
  // Revoked (its cleanup waits the late-write window of this unversioned bucket, as any).
  expect(heldOf(await recordsOf(path))).toMatchObject({
    undecided: false,
    outcome: { outcome: "revoked" },
  });
});

test("rollback meets an immutable file whose cleanup it must write: stopped there, the file and chattr -i named, the epoch still held; a rerun after chattr -i cleans it", async () => {
  await using c = await startCluster(["a"], {
    s3: { lateWriteWindowMs: 2000, storeSkewLimitMs: 500, requestTimeoutMs: 1500 },
    migrate: { uploadRetries: 0 },
  });
  const path = c.box.file("r/cleanup.bin", randomBytes(20_000, 72));
  await c.submit("a", [path]);
  // The PUT lands, its answer is lost: the epoch is ambiguous, its cleanup waits the window.
  c.proxies.a?.setMode("cut-file-writes");
  await c.run("a");
  c.proxies.a?.setMode("pass");
  expect(heldOf(await recordsOf(path))).not.toBeNull();
  chattr("+i", path);
  await Bun.sleep(2100); // past the 2 s window: the cleanup is due
  const stopped = await cli(["rollback", "--node", "a"], c.box.env);
  expect(stopped.code).not.toBe(0);
  const said = stopped.stdout + stopped.stderr;
  expect(said).toContain(path);
  expect(said).toContain("EPERM");
  expect(said).toContain("chattr -i");
  expect(heldOf(await recordsOf(path))).not.toBeNull();
  chattr("-i", path);
  const cleaned = await cli(["rollback", "--node", "a"], c.box.env);
  expect(cleaned.code).toBe(0);
  expect(heldOf(await recordsOf(path))).toBeNull();
  await c.run("a");
  expect((await stateOf(path))?.node).toBe("a");
});
