/**
 * Issue 15.3: recover never loses a live node's commit. Heartbeats while a task runs keep a
 * working node live (recover refuses it without --force); `recover --force` revokes by deciding
 * `e.<n> = revoked`, so a node that was paused, not dead, fails its own decision (EEXIST) when it
 * wakes and reports `revoked`; a paused holder whose create re-creates a garbage-collected name
 * never reports `migrated` (model fix `design-report-late-commit`). Real processes, SIGSTOP.
 */
import { expect, test } from "bun:test";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../jobs/context/config.ts";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { FileHandle, Runtime } from "../../runtime/types.ts";
import { checkInvariants, startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes, tempDir, waitFor } from "../helpers.ts";
import { recordsOf, stateOf } from "../records.ts";

const rt = createRuntime();

/** `tiermv recover` as an operator runs it on another host (its own instance-lock directory). */
const elsewhere = (env: Record<string, string>) => ({
  ...env,
  TIERMV_LOCK_DIR: tempDir("other-host"),
});

const beatAt = (spool: string, node: string) =>
  Date.parse(JSON.parse(readFileSync(join(spool, "nodes", node, "heartbeat"), "utf8")).at);

test("a node writes its heartbeat while a long task runs: recover without --force refuses it all along", async () => {
  await using c = await startCluster(["a"], { schedule: { heartbeatMs: 200 } });
  const path = c.box.file("long.bin", randomBytes(300_000, 8));
  await c.submit("a", [path]);
  c.proxies.a?.setMode("hold"); // the upload's answer is held: one long task
  const run = c.spawnRun("a");
  await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 300_000, "the upload to be sent");
  const first = beatAt(c.box.spool, "a");
  // Longer than 6 heartbeats (1.2 s): a heartbeat written only between tasks would be stale.
  await waitFor(
    () => beatAt(c.box.spool, "a") > first + 2000,
    "heartbeats during the task",
    10_000,
  );
  const refused = await cli(["recover", "--node", "a", "--yes"], elsewhere(c.box.env));
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("heartbeat");
  c.proxies.a?.release();
  expect(await run.exited).toBe(0);
  expect((await stateOf(path))?.key).toBe("m/long.bin");
});

test("recover --force against a paused (SIGSTOP) node: its epoch is revoked; woken, its decision meets EEXIST, it reports revoked, and nothing committed is lost", async () => {
  await using c = await startCluster(["a", "b"]);
  const path = c.box.file("paused.bin", randomBytes(200_000, 9));
  await c.submit("a", [path]);
  c.proxies.a?.setMode("hold");
  const run = c.spawnRun("a");
  await waitFor(() => (c.proxies.a?.bytesUp ?? 0) > 200_000, "the upload to be sent");
  run.kill("SIGSTOP"); // paused, not dead: its process exists, its PUT has landed
  let revokedAttempt = "";
  try {
    const recovered = await cli(
      ["recover", "--node", "a", "--yes", "--force"],
      elsewhere(c.box.env),
    );
    expect(recovered.code).toBe(0);
    const revoked = (await recordsOf(path)).e.get(1);
    expect(revoked).toMatchObject({ outcome: "revoked", by: { role: "revoker" } });
    revokedAttempt = revoked.attempt;
    c.proxies.a?.release();
  } finally {
    run.kill("SIGCONT");
  }
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(await run.exited).toBe(1); // revoked needs an operator's look
  expect(summary.counts).toMatchObject({ revoked: 1, migrated: 0 });
  expect((await recordsOf(path)).e.get(1)?.outcome).toBe("revoked");
  // The file is migrated again after the revoked epoch's cleanup (its late-write window).
  appendFileSync(path, "changed after the revocation");
  await c.submit("b", [path]);
  await c.quiesce();
  expect(revokedAttempt).not.toBe("");
  expect((await stateOf(path))?.attempt).not.toBe(revokedAttempt);
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("report-late-commit: a holder paused between its verify and its decision, revoked, cleaned, its epoch garbage-collected after another commit, re-creates e.<n> when it wakes and reports revoked, never migrated", async () => {
  await using c = await startCluster(["a", "b"]);
  const path = c.box.file("late.bin", randomBytes(5000, 10));
  await c.submit("a", [path]);
  // Node a runs in this process and pauses right before it creates e.<n> (after its verify).
  let release = () => {};
  const paused = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached = false;
  const hooked: Runtime = {
    ...rt,
    async openFile(p, options) {
      const handle = await rt.openFile(p, options);
      // The decision is a create of e.<n>, alone or with the listing after it.
      const pause = async (name: string) => {
        if (/\.e\.\d+$/.test(name) && !reached) {
          reached = true;
          await paused;
        }
      };
      const setXattr: FileHandle["setXattr"] = async (name, value, mode) => {
        await pause(name);
        return handle.setXattr(name, value, mode);
      };
      const createXattrThenList: FileHandle["createXattrThenList"] = async (name, value) => {
        await pause(name);
        return handle.createXattrThenList(name, value);
      };
      const hooks = { setXattr, createXattrThenList, path: handle.path };
      return Object.assign(Object.create(handle), hooks);
    },
  };
  const configA = parseConfig(JSON.parse(readFileSync(c.configOf("a"), "utf8")), "a");
  const tick = runNodeOnce(createJobContext(hooked, configA, silentLog), "a");
  await waitFor(() => reached, "node a to pause before its decision");
  // Meanwhile: recover revokes epoch 1, its cleanup passes the window, node b commits epoch 2,
  // whose GC removes every record of epoch 1.
  expect(
    (await cli(["recover", "--node", "a", "--yes", "--force"], elsewhere(c.box.env))).code,
  ).toBe(0);
  await waitFor(
    async () => {
      await cli(["rollback", "--node", "a"], c.box.env);
      return (await recordsOf(path)).c.has(1);
    },
    "the revoked epoch's cleanup (after its window)",
    60_000,
  );
  await c.submit("b", [path]);
  expect((await c.runJson("b")).json.counts.migrated).toBe(1);
  expect([...(await recordsOf(path)).e.keys()]).toEqual([2]);
  release();
  const summary = await tick;
  // Its create of e.1 succeeded (the name was gone), but epoch 1 is below the current state:
  // revoked, and its own GC removed the re-created name again.
  expect(summary.counts).toMatchObject({ revoked: 1, migrated: 0 });
  expect((await recordsOf(path)).e.has(1)).toBe(false);
  expect((await stateOf(path))?.node).toBe("b");
  expect((await checkInvariants(c)).violations).toEqual([]);
});
