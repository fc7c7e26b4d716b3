/**
 * The two independent guards against the incident, each exercised on its own, plus busy
 * backoff, own stale locks and recover.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../jobs/context/config.ts";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { LOCK_ATTR, readLock } from "../../jobs/file/lock.ts";
import { rollbackEntry } from "../../jobs/file/rollback_entry.ts";
import { readState } from "../../jobs/file/state.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { newJournalEntry } from "../../jobs/spool/journal.ts";
import { backoffMs } from "../../jobs/spool/retry_task.ts";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { Runtime } from "../../runtime/types.ts";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes } from "../helpers.ts";

const rt = createRuntime();
const enc = new TextEncoder();

test("re-check under the lock: a node whose first stat predates another node's commit skips instead of uploading", async () => {
  await using c = await startCluster(["a", "b"]);
  const path = c.box.file("race.bin", randomBytes(5000, 42));
  await c.submit("a", [path]);
  await c.submit("b", [path]);
  // Node a runs in this process; just before it takes the lock, node b (a real process)
  // migrates the same file to the end. a's stat was taken before b's commit.
  let interposed = false;
  const hooked: Runtime = {
    ...rt,
    xattr: {
      ...rt.xattr,
      async set(p, name, value, mode) {
        if (name === LOCK_ATTR && mode === "create" && !interposed) {
          interposed = true;
          expect((await c.runJson("b")).json.counts.migrated).toBe(1);
        }
        return rt.xattr.set(p, name, value, mode);
      },
    },
  };
  c.proxies.a?.setMode("cut"); // had a uploaded, it would fail and leave a stray upload
  const configA = parseConfig(JSON.parse(readFileSync(c.configOf("a"), "utf8")), "a");
  const tick = await runNodeOnce(createJobContext(hooked, configA, silentLog), "a");
  expect(interposed).toBe(true);
  expect(tick.counts).toMatchObject({ skipped: 1, migrated: 0, failed: 0 });
  expect(c.proxies.a?.bytesUp).toBe(0);
  expect((await readState(rt, path))?.node).toBe("b");
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("rollback never deletes an object that a committed state names, even when the attempt ids match", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("named.bin", randomBytes(1000, 5));
  await c.submit("a", [path]);
  await c.quiesce();
  const state = await readState(rt, path);
  expect(state).not.toBeNull();
  const ctx = createJobContext(rt, c.box.config, silentLog);
  // A journal line for the very attempt that committed (as a crash between commit and unlock
  // could leave behind): the object carries that attempt id, and the state names its key.
  const entry = newJournalEntry({
    path,
    attempt: state?.attempt ?? "",
    key: state?.key ?? "",
    target: c.box.config.target,
    node: "a",
    task: "t",
    requestId: "r",
    error: "test",
    tries: 1,
  });
  const result = await rollbackEntry(ctx, entry);
  expect(result.deletedObject).toBe(false);
  const target = createS3Target(rt, c.box.config.target, c.box.config);
  expect((await target.head(entry.key))?.meta?.attempt).toBe(entry.attempt);
  target.close();
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a file locked by another live node is busy: a retry task with backoff, no upload", async () => {
  await using c = await startCluster(["a", "b"]);
  c.box.setConfig({ retry: { busyBaseMs: 5000, busyMaxMs: 300000 } });
  const path = c.box.file("held.bin", randomBytes(100, 1));
  const foreign = {
    v: 1,
    node: "b",
    task: "tb",
    attempt: "feedface",
    pid: 1,
    host: "elsewhere",
    boot: "x",
    at: new Date().toISOString(),
  };
  await rt.xattr.set(path, LOCK_ATTR, enc.encode(JSON.stringify(foreign)), "create");
  await c.submit("a", [path]);
  const before = Date.now();
  const result = await cli(["run", "--node", "a", "--json"], c.box.env);
  expect(lastJsonLine(result.stdout).counts.busy).toBe(1);
  expect(c.proxies.a?.connections).toBe(0);
  expect((await readLock(rt, path))?.attempt).toBe("feedface");
  const pending = join(c.box.spool, "nodes/a/pending");
  const retries = readdirSync(pending).filter((n) => n.startsWith("r") && n.endsWith(".task"));
  expect(retries.length).toBe(1);
  const header = JSON.parse(
    readFileSync(join(pending, retries[0] ?? ""), "utf8").split("\n")[0] ?? "{}",
  );
  expect(header.options.notBefore).toBeGreaterThanOrEqual(before + 5000);
  expect(header.options.retry).toBe(1);
  // Not due yet: the next run leaves it alone.
  const again = await cli(["run", "--node", "a", "--json"], c.box.env);
  expect(lastJsonLine(again.stdout).tasks).toEqual([]);
});

test("busy backoff starts at the base, doubles, and is capped", () => {
  const config = parseConfig(
    {
      spool: "/s",
      root: "/r",
      target: "file:///t",
      nodes: ["a"],
      retry: { busyBaseMs: 5000, busyMaxMs: 300000 },
    },
    "inline",
  );
  expect([0, 1, 2, 3, 6, 7, 40].map((n) => backoffMs(config, n))).toEqual([
    5000, 10000, 20000, 40000, 300000, 300000, 300000,
  ]);
});

test("a lock left by this node's dead process is resolved and the file migrated", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("stale.bin", randomBytes(700, 2));
  const dead = Bun.spawnSync(["true"]).pid;
  const stale = {
    v: 1,
    node: "a",
    task: "told",
    attempt: "deadbeef",
    pid: dead,
    host: rt.process.hostname,
    boot: rt.process.bootId,
    at: new Date().toISOString(),
  };
  await rt.xattr.set(path, LOCK_ATTR, enc.encode(JSON.stringify(stale)), "create");
  await c.submit("a", [path]);
  await c.quiesce();
  expect((await readState(rt, path))?.attempt).not.toBe("deadbeef");
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("recover: a lost node's locks are rolled back and its running tasks return to pending", async () => {
  await using c = await startCluster(["a", "b"]);
  for (let i = 0; i < 5; i++) c.box.file(`x/${i}.bin`, randomBytes(1500 + i, i + 9));
  await c.submit("a", [c.box.src]);
  c.box.setConfig({ migrate: { concurrency: 5, uploadRetryBaseMs: 1 } });
  // Node a dies after uploading its third file: locks and objects are left behind.
  const crashed = await c.run("a", { TIERMV_CRASH_AT: "after-upload:3" });
  expect(crashed.code).toBe(137);
  const refused = await cli(["recover", "--node", "a", "--yes"], c.box.env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("heartbeat");
  const recovered = await cli(["recover", "--node", "a", "--yes", "--force"], c.box.env);
  expect(recovered.code).toBe(0);
  for (let i = 0; i < 5; i++) expect(await readLock(rt, `${c.box.src}/x/${i}.bin`)).toBeNull();
  expect(readdirSync(join(c.box.spool, "nodes/a/running"))).toEqual([]);
  expect(
    readdirSync(join(c.box.spool, "nodes/a/pending")).filter((n) => n.endsWith(".task")).length,
  ).toBeGreaterThan(0);
  // Whatever node a uploaded without committing is gone; nothing committed was touched.
  expect((await checkInvariants(c, { uncommitted: () => true })).violations).toEqual([]);
  await c.quiesce();
  expect((await checkInvariants(c)).violations).toEqual([]);
});
