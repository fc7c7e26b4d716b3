/**
 * Release and restore isolate failures as migrate does (isolate.ts): a target that stops
 * answering during a release is found by its probe, the tick stops with the task pending and
 * `run --watch` keeps running (it backs off); once the target answers, the file is released.
 */
import { expect, test } from "bun:test";
import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cli, randomBytes, spawnCli, streamText, waitFor } from "../helpers.ts";
import { heldOf, recordsOf } from "../records.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { s3Service } from "../services/shared.ts";
import { currentState, mtimeNsOf, stoppedAt, type TierBox, tierBox } from "./tier_helpers.ts";

test("a target down during a release: the watch keeps running, the task waits in pending/, and the file is released once the target answers", async () => {
  const t = await tierBox();
  const [file] = await t.migrate({ "r.bin": randomBytes(64 * 1024, 5) });
  const proxy = await startFaultProxy((await s3Service()).port);
  try {
    t.box.setConfig({
      s3: { ...t.box.config.s3, endpoint: proxy.endpoint },
      schedule: { tickMs: 100, unavailableBackoffMaxMs: 400 },
    });
    proxy.setMode("refuse");
    const submit = await cli(
      ["submit", "--node", "a", "--action", "release", t.box.src],
      t.box.env,
    );
    expect(submit.code).toBe(0);
    const watch = spawnCli(["run", "--node", "a", "--watch"], t.box.env);
    const log = streamText(watch.stderr);
    try {
      // Two ticks stopped by the refused target (on a loaded machine the watch may take seconds
      // to start: a fixed sleep could let the target answer before any tick met the outage).
      // After the first, each tick probes before it claims, so the target coming back between a
      // failed call and its probe (the file's own `error`) is not what the rest waits on.
      await log.until(
        /cycle skipped[\s\S]*cycle skipped/,
        "two ticks skipped on the refused target",
      );
      log.drain();
      expect(watch.exitCode).toBeNull();
      // Between ticks the task is back in pending/ (a tick may hold it in running/ a moment).
      const tasks = (q: string) =>
        readdirSync(join(t.box.spool, "nodes/a", q)).filter((n) => n.endsWith(".task"));
      await waitFor(
        () => tasks("pending").length === 1 && tasks("running").length === 0,
        "the task back in pending/",
      );
      expect(tasks("failed")).toEqual([]);
      expect(statSync(file as string).size).toBe(64 * 1024);
      proxy.setMode("pass");
      await waitFor(
        // The state is decided before the truncate (docs/tiering.md): wait for both.
        async () =>
          (await currentState(file as string))?.state === "released" &&
          statSync(file as string).size === 0,
        "the release once the target answers",
        90_000, // the watch's backoff and the abandoned epoch's resolution, on a loaded machine
      ).catch((err) => {
        throw new Error(`${(err as Error).message}; the watch's log:\n${log.text}`);
      });
      expect(statSync(file as string).size).toBe(0);
      expect(watch.exitCode).toBeNull();
    } finally {
      watch.kill("SIGTERM");
      await watch.exited;
    }
  } finally {
    proxy.stop();
  }
});

/** The file holds restore's first 8 MiB chunk (the object's, when `data` is given), then "WRITER". */
function expectWriterKept(file: string, data?: Uint8Array): void {
  const MiB = 1024 * 1024;
  const content = readFileSync(file);
  expect(content.length).toBe(8 * MiB + "WRITER".length);
  expect(content.subarray(8 * MiB).toString()).toBe("WRITER");
  if (data) expect(content.subarray(0, 8 * MiB).equals(data.subarray(0, 8 * MiB))).toBe(true);
}

/**
 * A released 17 MiB file whose restore, through a fault proxy, is paused (SIGSTOP) right after
 * its first pwrite, before the fstat after it (and, with `thenAfterBaseline`, once more after
 * that fstat: the baseline a take-back compares with). Disposing stops the proxy and kills the
 * restore if a failed assertion left it stopped.
 */
async function restorePausedAfterFirstWrite(
  t: TierBox,
  name: string,
  data: Uint8Array,
  thenAfterBaseline = false,
) {
  const file = (await t.migrate({ [name]: data }))[0] as string;
  const mtime = mtimeNsOf(file);
  expect((await t.tier("release", [file])).outcomes[0]).toMatchObject({ kind: "released" });
  const proxy = await startFaultProxy((await s3Service()).port);
  t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: proxy.endpoint } });
  // The GET ahead (the second chunk's) is sent before the pause: cut whatever the timing. A
  // proxy refusing only once the restore is stopped found it answered already (read whole by
  // the client's HTTP thread) on a loaded machine, and the restore then went on.
  proxy.cutReads((read) => read.range?.startsWith(`bytes=${8 * 1024 * 1024}-`) === true);
  const restore = spawnCli(["restore", "--node", "a", "--json", file], {
    ...t.box.env,
    TIERMV_PAUSE_AT: `restore-mid-copy:1${thenAfterBaseline ? ",restore-after-baseline:1" : ""}`,
  });
  await stoppedAt(restore.pid);
  return {
    file,
    mtime,
    proxy,
    restore,
    async [Symbol.asyncDispose]() {
      if (restore.exitCode === null) restore.kill("SIGKILL");
      await proxy.stop();
    },
  };
}

test("a store failure in the middle of a restore: our bytes are taken back out (the stub again, with its mtime), and the epoch is given back (aborted): the next restore restores", async () => {
  const MiB = 1024 * 1024;
  const t = await tierBox();
  const data = randomBytes(17 * MiB, 31);
  await using r = await restorePausedAfterFirstWrite(t, "big.bin", data);
  const { file, proxy, restore } = r;
  expect(statSync(file).size).toBe(8 * MiB); // the first chunk is in
  proxy.setMode("refuse");
  process.kill(restore.pid, "SIGCONT");
  expect(await restore.exited).toBe(1); // the target is down: an operator's matter
  // No prefix of the object is left for a migrate to take as the file's content.
  expect(statSync(file).size).toBe(0);
  expect(mtimeNsOf(file)).toBe(r.mtime);
  expect(heldOf(await recordsOf(file))).toBeNull(); // given back, not held until a revisit
  proxy.setMode("pass");
  const again = await t.tier("restore", [file]);
  expect(again.outcomes[0]).toMatchObject({ kind: "restored" });
  expect(readFileSync(file).equals(Buffer.from(data))).toBe(true);
});

test("a write appended between a restore's pwrite and the fstat after it, then a store failure: the restore stops dirty and the write stays (no take-back cuts it off)", async () => {
  const MiB = 1024 * 1024;
  const t = await tierBox();
  const data = randomBytes(17 * MiB, 32);
  await using r = await restorePausedAfterFirstWrite(t, "appended.bin", data);
  const { file, proxy, restore } = r;
  appendFileSync(file, "WRITER");
  proxy.setMode("refuse"); // the GET ahead fails: a take-back would follow
  process.kill(restore.pid, "SIGCONT");
  const [stdout] = await Promise.all([new Response(restore.stdout).text(), restore.exited]);
  expect(JSON.parse(stdout.trim().split("\n")[0] as string)).toMatchObject({ kind: "dirty" });
  expectWriterKept(file);
});

test("a write landing after a restore's last fstat, then a store failure: the take-back sees the ctime moved and leaves the file, the write in it", async () => {
  const MiB = 1024 * 1024;
  const t = await tierBox();
  const data = randomBytes(17 * MiB, 33);
  await using r = await restorePausedAfterFirstWrite(t, "late.bin", data, true);
  const { file, proxy, restore } = r;
  // The GET ahead was cut (restorePausedAfterFirstWrite); the target refused from here on. The
  // stderr check below fails rather than passes if that GET ever got through.
  proxy.setMode("refuse");
  process.kill(restore.pid, "SIGCONT");
  await stoppedAt(restore.pid); // after the fstat that is the take-back's baseline
  appendFileSync(file, "WRITER"); // after the baseline: only the take-back's own fence sees it
  process.kill(restore.pid, "SIGCONT");
  const [stderr, code] = await Promise.all([new Response(restore.stderr).text(), restore.exited]);
  expect(code).toBe(1); // the target is down: an operator's matter
  // The take-back ran, saw the write and left the file (not a dirty chunk fence before it).
  expect(stderr).toContain("written to during the restore (after 8388608 of");
  expect(stderr).toContain("left as it is");
  expectWriterKept(file, data);
  // The stub was written to: the next restore finds it dirty and overwrites nothing.
  proxy.setMode("pass");
  const again = await t.tier("restore", [file]);
  expect(again.outcomes[0]).toMatchObject({ kind: "dirty" });
  expect(statSync(file).size).toBe(8 * MiB + "WRITER".length);
});

test("a release whose store call fails after its take gives the epoch back (decided aborted): another node releases the file at once, not busy until the first node comes back", async () => {
  const t = await tierBox();
  const [file] = await t.migrate({ "g.bin": randomBytes(64 * 1024, 9) });
  const proxy = await startFaultProxy((await s3Service()).port);
  try {
    t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: proxy.endpoint } });
    const release = spawnCli(["release", "--node", "a", "--json", file as string], {
      ...t.box.env,
      TIERMV_PAUSE_AT: "release-after-take",
    });
    await stoppedAt(release.pid);
    const taken = await recordsOf(file as string);
    expect(heldOf(taken)?.undecided).toBe(true); // the epoch is held, its HEAD not sent yet
    proxy.setMode("refuse");
    process.kill(release.pid, "SIGCONT");
    expect(await release.exited).toBe(1); // the target is down: an operator's matter
    // Given back: free, with nothing released and the file's bytes in place.
    expect(heldOf(await recordsOf(file as string))).toBeNull();
    expect(statSync(file as string).size).toBe(64 * 1024);
    proxy.setMode("pass");
    const other = await cli(["release", "--node", "b", "--json", file as string], t.box.env);
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout.trim().split("\n")[0] as string)).toMatchObject({
      kind: "released",
    });
    expect(statSync(file as string).size).toBe(0);
  } finally {
    proxy.stop();
  }
});

test("a stop of run --watch during a restore task, after a write into the file: the copy stops and leaves the file as it is, the write in it, and the restore ends dirty", async () => {
  const MiB = 1024 * 1024;
  const t = await tierBox({ shutdown: { graceMs: 0 } });
  const data = randomBytes(17 * MiB, 38);
  const file = (await t.migrate({ "stopw.bin": data }))[0] as string;
  expect((await t.tier("release", [file])).outcomes[0]).toMatchObject({ kind: "released" });
  expect((await cli(["submit", "--node", "a", "--action", "restore", file], t.box.env)).code).toBe(
    0,
  );
  const watch = spawnCli(["run", "--node", "a", "--watch"], {
    ...t.box.env,
    TIERMV_PAUSE_AT: "restore-mid-copy:1,restore-after-baseline:1",
  });
  try {
    await stoppedAt(watch.pid); // right after the first pwrite
    process.kill(watch.pid, "SIGTERM"); // seen while it makes its next fstat: past the grace
    process.kill(watch.pid, "SIGCONT");
    await stoppedAt(watch.pid); // after that fstat, the baseline the take-back compares with
    appendFileSync(file, "WRITER");
    process.kill(watch.pid, "SIGCONT");
    const stderr = await new Response(watch.stderr).text();
    await watch.exited;
    expectWriterKept(file);
    expect(stderr).toContain("needs an operator: 1 dirty");
    expect(heldOf(await recordsOf(file))).toBeNull(); // decided, not left held
    const events = await cli(["events", "--node", "a"], t.box.env);
    const dirty = events.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((e) => e.path === file && e.outcome === "dirty");
    // Found by the take-back at the stop, not by a chunk fence.
    expect(dirty.map((e) => e.error)).toEqual([
      "written to during the restore (after 8388608 of 17825792 bytes): stopped, left as it is",
    ]);
  } finally {
    if (watch.exitCode === null) watch.kill("SIGKILL");
  }
});

test("a stop of run --watch during a restore task: past shutdown.graceMs the copy stops between chunks, takes its bytes back out (the stub again) and gives its epoch back; the task goes back to pending and the next run restores", async () => {
  const MiB = 1024 * 1024;
  const t = await tierBox({ shutdown: { graceMs: 0 } });
  const data = randomBytes(17 * MiB, 37);
  const file = (await t.migrate({ "stop.bin": data }))[0] as string;
  const mtime = mtimeNsOf(file);
  expect((await t.tier("release", [file])).outcomes[0]).toMatchObject({ kind: "released" });
  const submit = await cli(["submit", "--node", "a", "--action", "restore", file], t.box.env);
  expect(submit.code).toBe(0);
  const watch = spawnCli(["run", "--node", "a", "--watch"], {
    ...t.box.env,
    TIERMV_PAUSE_AT: "restore-mid-copy:1",
  });
  await stoppedAt(watch.pid);
  expect(statSync(file).size).toBe(8 * MiB); // the first chunk is in
  process.kill(watch.pid, "SIGTERM"); // delivered when it runs again
  process.kill(watch.pid, "SIGCONT");
  expect(await watch.exited).toBe(0);
  expect(statSync(file).size).toBe(0);
  expect(mtimeNsOf(file)).toBe(mtime);
  expect(heldOf(await recordsOf(file))).toBeNull();
  const tasks = (q: string) =>
    readdirSync(join(t.box.spool, "nodes/a", q)).filter((n) => n.endsWith(".task"));
  expect(tasks("pending")).toHaveLength(1);
  const run = await cli(["run", "--node", "a", "--once"], t.box.env);
  expect(run.code).toBe(0);
  expect(readFileSync(file).equals(Buffer.from(data))).toBe(true);
});
