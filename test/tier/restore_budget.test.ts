/**
 * Restore's chunk buffers are bounded per process (jobs/file/restore_budget.ts): with
 * `s3.maxBufferBytes` at one chunk, a second restore waits for the first to finish its copy
 * before it sends any GET, even at `migrate.concurrency` 2, and a stop ends that wait at once.
 * Held by the test-only hold point after a chunk's write (jobs/util/hold_points.ts), the first
 * restore keeps its chunk; the other restore's take (its "restoring" epoch) shows it started,
 * and the proxy in front of s3proxy shows what it asked of the store meanwhile.
 */
import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { cli, randomBytes, spawnCli, tempDir, waitFor } from "../helpers.ts";
import { currentOf, heldOf, recordsOf } from "../records.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { s3Service } from "../services/shared.ts";
import { type TierBox, tierBox } from "./tier_helpers.ts";

/** A held process is never left waiting for its `.go` file when a test fails before it ends. */
const spawned: { kill(signal?: number | NodeJS.Signals): void; exitCode: number | null }[] = [];
afterEach(() => {
  for (const p of spawned.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});

const MiB = 1024 * 1024;

/** Two released 9 MiB files restored by one process (2 at once, a budget of one chunk). */
async function restoreHeld(t: TierBox, viaRun = false) {
  const data = [randomBytes(9 * MiB, 51), randomBytes(9 * MiB, 52)];
  const files = await t.migrate({
    "one.bin": data[0] as Uint8Array,
    "two.bin": data[1] as Uint8Array,
  });
  const released = await t.tier("release", files);
  expect(released.outcomes.map((o) => o.kind)).toEqual(["released", "released"]);
  const proxy = await startFaultProxy((await s3Service()).port);
  t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: proxy.endpoint } });
  const holds = tempDir("tiermv-holds-");
  if (viaRun) {
    const submit = await cli(["submit", "--node", "a", "--action", "restore", ...files], t.box.env);
    expect(submit.code).toBe(0);
  }
  const args = viaRun
    ? ["run", "--node", "a", "--once"]
    : ["restore", "--node", "a", "--json", ...files];
  const proc = spawnCli(args, {
    ...t.box.env,
    TIERMV_HOLD_AT: "restore-mid-copy",
    TIERMV_HOLD_DIR: holds,
  });
  spawned.push(proc);
  const heldNow = () => readdirSync(holds).filter((n) => n.endsWith(".held"));
  const pathOf = (name: string) => JSON.parse(readFileSync(join(holds, name), "utf8")).path;
  const first = await waitFor(() => heldNow()[0], "the first restore held mid-copy");
  const firstPath = pathOf(first) as string;
  const otherPath = files.find((f) => f !== firstPath) as string;
  // The other restore has started: its take (the "restoring" epoch) is on the file.
  await waitFor(
    async () => heldOf(await recordsOf(otherPath))?.take?.action === "restore",
    "the other restore's take",
  );
  const readsOfOther = () => proxy.reads.filter((r) => r.path.includes(basename(otherPath)));
  const go = (name: string) => writeFileSync(join(holds, name.replace(/\.held$/, ".go")), "");
  const outcomes = async () => {
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    return {
      code,
      kinds: stdout
        .trim()
        .split("\n")
        .slice(0, -1)
        .map((l) => JSON.parse(l)),
    };
  };
  return {
    files,
    data,
    proxy,
    proc,
    holds,
    heldNow,
    pathOf,
    first,
    firstPath,
    otherPath,
    readsOfOther,
    go,
    outcomes,
  };
}

test("restores share one chunk budget per process: with s3.maxBufferBytes at one chunk, a second restore sends no GET while the first holds its chunk", async () => {
  const t = await tierBox({ migrate: { concurrency: 2 }, s3: { maxBufferBytes: 8 * MiB } });
  const r = await restoreHeld(t);
  await using _ = r.proxy;
  // It took its epoch and waits for the budget: no GET, no hold of its own (without the budget
  // it would reach the hold within this bound).
  await waitFor(() => r.heldNow().length > 1, "a second hold", 2_000).catch(() => null);
  expect(r.readsOfOther()).toEqual([]);
  expect(r.heldNow()).toEqual([r.first]);
  // Let the first restore go (it holds again after its last chunk) until the other one holds.
  await waitFor(() => {
    for (const name of r.heldNow()) {
      if (readdirSync(r.holds).includes(name.replace(/\.held$/, ".go"))) continue;
      if (r.pathOf(name) === r.firstPath) r.go(name);
      else return name;
    }
    return null;
  }, "the other restore held mid-copy once the first was done");
  expect(r.readsOfOther().length).toBeGreaterThan(0);
  await waitFor(() => {
    for (const name of r.heldNow()) r.go(name);
    return r.proc.exitCode !== null;
  }, "the restore's end");
  const { code, kinds } = await r.outcomes();
  expect(code).toBe(0);
  expect(kinds.map((o) => o.kind)).toEqual(["restored", "restored"]);
  for (const [i, file] of r.files.entries())
    expect(Buffer.compare(readFileSync(file), Buffer.from(r.data[i] as Uint8Array))).toBe(0);
  t.target.close();
});

test("a stop of `run` while a restore waits for the chunk budget ends the wait at once: no GET sent, the stub untouched and its epoch given back", async () => {
  const t = await tierBox({ migrate: { concurrency: 2 }, s3: { maxBufferBytes: 8 * MiB } });
  const r = await restoreHeld(t, true);
  await using _ = r.proxy;
  r.proc.kill("SIGTERM");
  // The waiting restore ends while the other is still held mid-copy.
  await waitFor(
    async () => heldOf(await recordsOf(r.otherPath)) === null,
    "the other epoch given back",
  );
  expect(r.heldNow()).toContain(r.first);
  expect(r.readsOfOther()).toEqual([]);
  expect(readFileSync(r.otherPath).length).toBe(0);
  expect(currentOf(await recordsOf(r.otherPath))?.state).toMatchObject({ state: "released" });
  await waitFor(() => {
    for (const name of r.heldNow()) r.go(name);
    return r.proc.exitCode !== null;
  }, "the run's end");
  t.target.close();
});
