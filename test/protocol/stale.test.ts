/**
 * Issue 15.8: stale locks are recognised. A take records the process identity (machine id, boot
 * id, pid, start time); it is dead only on the same machine: another boot, or the same boot and
 * no process with that pid and start time (a reused pid is dead; a zombie is alive). An
 * unreadable take is stale once the file's ctime is older than a grace: reported by verify,
 * counted in status, cleared by migrate and recover. Busy retries stop after a maximum age.
 */
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { livenessOf } from "../../jobs/file/liveness.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { Runtime } from "../../runtime/types.ts";
import { startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes, tempDir, waitFor } from "../helpers.ts";
import { heldOf, holderOf, putRecord, recordsOf, stateOf, takeRecord } from "../records.ts";

const rt = createRuntime();

test("a take of this node is dead after a reboot (another boot id) or a pid reuse (another start time); alive, or on another machine, it is busy", async () => {
  await using c = await startCluster(["a"]);
  const self = rt.process.identity();
  const target = c.box.config.target;
  const cases = {
    rebooted: { ...self, boot: "an-earlier-boot" },
    reused: { ...self, start: String(Number(self.start) + 12345) },
    alive: { ...self },
    elsewhere: { ...self, machine: "another-machine" },
  };
  const paths: Record<string, string> = {};
  for (const [name, proc] of Object.entries(cases)) {
    const path = c.box.file(`p/${name}.bin`, randomBytes(600, name.length));
    const take = takeRecord({
      n: 1,
      node: "a",
      attempt: name,
      key: `m/p/${name}.bin`,
      target,
      proc,
    });
    await putRecord(path, "l.1", take);
    paths[name] = path;
  }
  await c.submit("a", [join(c.box.src, "p")]);
  // Dead ones are resolved (failed, cleaned after the late-write window) and migrated.
  await waitFor(
    async () => {
      await c.run("a");
      return (await stateOf(paths.rebooted ?? "")) && (await stateOf(paths.reused ?? ""));
    },
    "the dead attempts' files to be migrated",
    60_000,
  );
  for (const name of ["alive", "elsewhere"]) {
    expect((await holderOf(paths[name] ?? ""))?.attempt).toBe(name);
    expect(await stateOf(paths[name] ?? "")).toBeNull();
  }
});

test("a zombie (exited, a thread stuck in a hung mount) holds its epoch: alive for every safety decision", () => {
  const self = rt.process.identity();
  const zombie: Runtime = { ...rt, process: { ...rt.process, processState: () => "zombie" } };
  const dead: Runtime = { ...rt, process: { ...rt.process, processState: () => "dead" } };
  expect(livenessOf(zombie, { ...self, pid: 4242 })).toBe("alive");
  expect(livenessOf(dead, { ...self, pid: 4242 })).toBe("dead");
});

test("an unreadable take record: busy within its grace (verify reports it, status counts it), stale after it (cleared by migrate, and by recover for a lost node)", async () => {
  await using c = await startCluster(["a", "c"], {
    retry: { busyBaseMs: 0, busyMaxMs: 0, unreadableLockGraceMs: 3000 },
  });
  const path = c.box.file("u/garbled.bin", randomBytes(500, 41));
  const lost = c.box.file("u/lost.bin", randomBytes(500, 42));
  await putRecord(path, "l.1", "garbage");
  await putRecord(lost, "l.1", "{");
  await c.submit("a", [path]);
  const first = await c.runJson("a");
  expect(first.json.counts).toMatchObject({ busy: 1, unreadableLocks: 1 });
  const status = JSON.parse((await cli(["status", "--json"], c.box.env)).stdout);
  expect(status.find((s: { node: string }) => s.node === "a").unreadableLocks).toBe(1);
  const fresh = await cli(["verify", "--json", path], c.box.env);
  expect(fresh.stdout).toContain('"kind":"unreadable-xattr"');
  // Older than the grace (by the file's ctime, which the take record's write set).
  const ctimeMs = (p: string) => Number(statSync(p, { bigint: true }).ctimeNs / 1_000_000n);
  await waitFor(() => Date.now() - ctimeMs(path) > 3500, "the grace to pass", 10_000);
  const stale = await cli(["verify", "--json", path], c.box.env);
  expect(stale.stdout).toContain('"kind":"stale-lock"');
  await waitFor(
    async () => {
      await c.run("a");
      return await stateOf(path);
    },
    "the stale record to be cleared and the file migrated",
    60_000,
  );
  // A lost node's running task names the other file: recover clears its stale record too.
  await c.submit("c", [lost]);
  const cDir = join(c.box.spool, "nodes/c");
  mkdirSync(join(cDir, "running"), { recursive: true });
  for (const name of readdirSync(join(cDir, "pending")).filter((n) => n.endsWith(".task")))
    renameSync(join(cDir, "pending", name), join(cDir, "running", name));
  const env = { ...c.box.env, TIERMV_LOCK_DIR: tempDir("other-host") };
  expect((await cli(["recover", "--node", "c", "--yes"], env)).code).toBe(0);
  const revoked = heldOf(await recordsOf(lost));
  expect(revoked?.outcome).toMatchObject({ outcome: "revoked", attempt: "" });
});

test("busy retries of one file stop after retry.busyMaxAgeMs: the file is reported stuck, with its holder, and not retried again", async () => {
  await using c = await startCluster(["a"], {
    retry: { busyBaseMs: 100, busyMaxMs: 200, busyMaxAgeMs: 1500 },
  });
  const path = c.box.file("s/held.bin", randomBytes(300, 43));
  const take = takeRecord({ n: 1, node: "b", attempt: "h0ld", key: "m/s/held.bin", target: "t" });
  await putRecord(path, "l.1", take);
  await c.submit("a", [path]);
  const stuck = await waitFor(
    async () => {
      const r = await c.runJson("a");
      return r.json.counts?.stuck === 1 ? r : null;
    },
    "the file to be reported stuck",
    20_000,
  );
  expect(stuck.code).toBe(1);
  expect(stuck.json.needsOperator.join(" ")).toContain("1 stuck");
  const pending = readdirSync(join(c.box.spool, "nodes/a/pending")).filter((n) =>
    n.endsWith(".task"),
  );
  expect(pending).toEqual([]);
  const outbox = join(c.box.spool, "nodes/a/outbox");
  const events = readdirSync(outbox).flatMap((n) =>
    readFileSync(join(outbox, n), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l: string) => JSON.parse(l)),
  );
  const event = events.find((e: { outcome: string }) => e.outcome === "stuck");
  expect(event.error).toContain("node b (attempt h0ld");
  expect(lastJsonLine(stuck.stdout).counts.busy).toBe(0);
});
