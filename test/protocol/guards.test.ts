/**
 * The protocol's guards against the incident, each exercised on its own, plus busy backoff,
 * this node's own dead attempts and recover.
 */
import { expect, test } from "bun:test";
import { appendFileSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../jobs/context/config.ts";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { rollbackEntry } from "../../jobs/file/rollback_entry.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { newJournalEntry } from "../../jobs/spool/journal.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { backoffMs } from "../../jobs/spool/retry_task.ts";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { FileHandle, OpenOptions, Runtime } from "../../runtime/types.ts";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes, tempDir, waitFor } from "../helpers.ts";
import { heldOf, holderOf, putRecord, recordsOf, stateOf, takeRecord } from "../records.ts";

const rt = createRuntime();

/**
 * A runtime whose descriptors run `before` once, just before the first take (`l.<n>`), made
 * alone or with the listing after it (createXattrThenList).
 */
function beforeTake(before: () => Promise<void>): Runtime & { interposed: () => boolean } {
  let done = false;
  const first = async (name: string) => {
    if (/\.l\.\d+$/.test(name) && !done) {
      done = true;
      await before();
    }
  };
  const hooked = {
    ...rt,
    interposed: () => done,
    async openFile(path: string, options: OpenOptions) {
      const handle = await rt.openFile(path, options);
      const setXattr: FileHandle["setXattr"] = async (name, value, mode) => {
        await first(name);
        return handle.setXattr(name, value, mode);
      };
      const createXattrThenList: FileHandle["createXattrThenList"] = async (name, value) => {
        await first(name);
        return handle.createXattrThenList(name, value);
      };
      const hooks = { setXattr, createXattrThenList, path: handle.path };
      return Object.assign(Object.create(handle), hooks);
    },
  };
  return hooked;
}

test("a stale view never uploads: a node whose view predates another node's commit meets EEXIST at its take, is busy, and its retry skips", async () => {
  await using c = await startCluster(["a", "b"]);
  const path = c.box.file("race.bin", randomBytes(5000, 42));
  await c.submit("a", [path]);
  await c.submit("b", [path]);
  // Node a runs in this process; just before it takes epoch 1, node b (a real process)
  // migrates the same file to the end. a's view was taken before b's commit.
  const hooked = beforeTake(async () => {
    expect((await c.runJson("b")).json.counts.migrated).toBe(1);
  });
  c.proxies.a?.setMode("cut"); // had a uploaded, it would fail and leave a stray object
  const configA = parseConfig(JSON.parse(readFileSync(c.configOf("a"), "utf8")), "a");
  const tick = await runNodeOnce(createJobContext(hooked, configA, silentLog), "a");
  expect(hooked.interposed()).toBe(true);
  expect(tick.counts).toMatchObject({ busy: 1, migrated: 0, failed: 0 });
  expect(c.proxies.a?.bytesUp).toBe(0);
  expect((await stateOf(path))?.node).toBe("b");
  c.proxies.a?.setMode("pass");
  await c.quiesce();
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("rollback never deletes an object that a committed state names, even when the attempt ids match", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("named.bin", randomBytes(1000, 5));
  await c.submit("a", [path]);
  await c.quiesce();
  const state = await stateOf(path);
  expect(state).not.toBeNull();
  const ctx = createJobContext(rt, c.box.config, silentLog);
  // A journal line for the very epoch that committed (a replayed or forged line): the object
  // carries that attempt id and the state names its key.
  const entry = newJournalEntry({
    path,
    ino: state.ino,
    epoch: 1,
    attempt: state.attempt,
    key: state.key,
    target: c.box.config.target,
    uploadIds: [],
    node: "a",
    task: "t",
    requestId: "r",
    error: "test",
    tries: 1,
  });
  const result = await rollbackEntry(ctx, nodeDirs(c.box.spool, "a"), entry);
  expect(result).toMatchObject({ status: "done", deleted: 0, needsRetry: false });
  const target = createS3Target(rt, c.box.config.target, c.box.config);
  expect((await target.head(entry.key))?.meta?.attempt).toBe(entry.attempt);
  target.close();
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("a file held by another live node is busy: a retry task with backoff, no upload", async () => {
  await using c = await startCluster(["a", "b"]);
  c.box.setConfig({ retry: { busyBaseMs: 5000, busyMaxMs: 300000 } });
  const path = c.box.file("held.bin", randomBytes(100, 1));
  const take = takeRecord({ n: 1, node: "b", attempt: "feedface", key: "m/held.bin", target: "t" });
  await putRecord(path, "l.1", take);
  await c.submit("a", [path]);
  const before = Date.now();
  const result = await cli(["run", "--node", "a", "--json"], c.box.env);
  expect(lastJsonLine(result.stdout).counts.busy).toBe(1);
  expect(c.proxies.a?.connections).toBe(0);
  expect((await holderOf(path))?.attempt).toBe("feedface");
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

test("an epoch left by this node's dead process is resolved (failed, cleaned) and the file migrated", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("stale.bin", randomBytes(700, 2));
  const dead = Bun.spawnSync(["true"]).pid;
  const { machine, boot } = rt.process.identity();
  const proc = { machine, boot, pid: dead, start: "1" };
  const take = takeRecord({
    n: 1,
    node: "a",
    attempt: "deadbeef",
    key: "m/stale.bin",
    target: c.box.config.target,
    proc,
  });
  await putRecord(path, "l.1", take);
  await c.submit("a", [path]);
  await c.quiesce();
  expect((await stateOf(path))?.attempt).not.toBe("deadbeef");
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("recover: a lost node's epochs are revoked and cleaned and its running tasks return to pending", async () => {
  await using c = await startCluster(["a", "b"]);
  for (let i = 0; i < 5; i++) c.box.file(`x/${i}.bin`, randomBytes(1500 + i, i + 9));
  await c.submit("a", [c.box.src]);
  c.box.setConfig({ migrate: { concurrency: 5, uploadRetryBaseMs: 1 } });
  // Node a dies after uploading its third file: epochs and objects are left behind.
  const crashed = await c.run("a", { TIERMV_CRASH_AT: "after-upload:3" });
  expect(crashed.code).toBe(137);
  const refused = await cli(["recover", "--node", "a", "--yes"], c.box.env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("heartbeat");
  const recovered = await cli(["recover", "--node", "a", "--yes", "--force"], c.box.env);
  expect(recovered.code).toBe(0);
  for (let i = 0; i < 5; i++) {
    const held = heldOf(await recordsOf(`${c.box.src}/x/${i}.bin`));
    // Nothing undecided is left: revoked epochs wait for their cleanup (the window).
    expect(held?.undecided ?? false).toBe(false);
    if (held) expect(held.outcome?.outcome).toBe("revoked");
  }
  expect(readdirSync(join(c.box.spool, "nodes/a/running"))).toEqual([]);
  expect(
    readdirSync(join(c.box.spool, "nodes/a/pending")).filter((n) => n.endsWith(".task")).length,
  ).toBeGreaterThan(0);
  await c.quiesce();
  expect((await checkInvariants(c)).violations).toEqual([]);
});

/**
 * A runtime whose descriptors answer their first flistxattr with `first` (a stale view): one
 * made alone, or the one made with the open (FileHandle.opened).
 */
function staleFirstView(first: string[]): Runtime {
  let served = false;
  const stale = async (real: () => Promise<string[]>) => {
    if (served) return await real();
    served = true;
    return first;
  };
  return {
    ...rt,
    async openFile(path, options) {
      const handle = await rt.openFile(path, options);
      const listXattr: FileHandle["listXattr"] = () => stale(() => handle.listXattr());
      const { opened } = handle;
      const names = opened?.names;
      const staleOpened: FileHandle["opened"] = opened && {
        ...opened,
        names: names ? () => stale(names) : null,
      };
      const hooks = { listXattr, opened: staleOpened, path: handle.path };
      return Object.assign(Object.create(handle), hooks);
    },
  };
}

test("the view after the take: a late take of a garbage-collected epoch is abandoned at once (busy), nothing uploaded, nothing decided", async () => {
  await using c = await startCluster(["a", "b"]);
  const path = c.box.file("gc/late.bin", randomBytes(900, 13));
  // b commits epochs 1 and 2: GC removes every record of epoch 1.
  await c.submit("b", [path]);
  await c.quiesce();
  appendFileSync(path, "v2");
  await c.submit("b", [path]);
  await c.quiesce();
  expect([...(await recordsOf(path)).e.keys()]).toEqual([2]);
  // a's view was taken before any epoch existed (it paused between its view and its take):
  // its create of l.1 succeeds, because GC removed that name.
  await c.submit("a", [path]);
  c.proxies.a?.resetCounters();
  const configA = parseConfig(JSON.parse(readFileSync(c.configOf("a"), "utf8")), "a");
  const tick = await runNodeOnce(createJobContext(staleFirstView([]), configA, silentLog), "a");
  expect(tick.counts).toMatchObject({ busy: 1, skipped: 0, revoked: 0, migrated: 0 });
  expect(c.proxies.a?.bytesUp).toBe(0);
  const records = await recordsOf(path);
  expect(records.l.get(1)?.node).toBe("a"); // the late take, abandoned
  expect(records.e.has(1)).toBe(false);
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("the write guard: a holder revoked before its first write sends nothing and reports revoked", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("g/revoked-early.bin", randomBytes(20_000, 14));
  await c.submit("a", [path]);
  // a pauses at its fstat after the take (before any store write; the body, under 64 KiB, is
  // read with it).
  let reached = false;
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const hooked: Runtime = {
    ...rt,
    async openFile(p, options) {
      const handle = await rt.openFile(p, options);
      const statThenRead: FileHandle["statThenRead"] = async (max) => {
        reached = true;
        await gate;
        return handle.statThenRead(max);
      };
      return Object.assign(Object.create(handle), { statThenRead, path: handle.path });
    },
  };
  const configA = parseConfig(JSON.parse(readFileSync(c.configOf("a"), "utf8")), "a");
  const tick = runNodeOnce(createJobContext(hooked, configA, silentLog), "a");
  await waitFor(() => reached, "a to hold epoch 1 before its upload");
  const env = { ...c.box.env, TIERMV_LOCK_DIR: tempDir("other-host") };
  expect((await cli(["recover", "--node", "a", "--yes", "--force"], env)).code).toBe(0);
  release();
  const summary = await tick;
  expect(summary.counts).toMatchObject({ revoked: 1, migrated: 0 });
  // Its PUT was never sent: no object at the key.
  const target = createS3Target(rt, c.box.config.target, c.box.config);
  expect(await target.head("m/g/revoked-early.bin")).toBeNull();
  target.close();
});
