/**
 * Release and restore isolate failures as migrate does (isolate.ts): a target that stops
 * answering during a release is found by its probe, the tick stops with the task pending and
 * `run --watch` keeps running (it backs off); once the target answers, the file is released.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cli, randomBytes, spawnCli, waitFor } from "../helpers.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { s3Service } from "../services/shared.ts";
import { currentState, mtimeNsOf, stoppedAt, tierBox } from "./tier_helpers.ts";

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
    try {
      // A few ticks against the refused target: each stops with the task back in pending/.
      await Bun.sleep(1500);
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
      );
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

test("a store failure in the middle of a restore: our bytes are taken back out (the stub again, with its mtime), and the next restore resolves the abandoned epoch and restores", async () => {
  const MiB = 1024 * 1024;
  const t = await tierBox();
  const data = randomBytes(17 * MiB, 31);
  const file = (await t.migrate({ "big.bin": data }))[0] as string;
  const mtime = mtimeNsOf(file);
  expect((await t.tier("release", [file])).outcomes[0]).toMatchObject({ kind: "released" });
  const proxy = await startFaultProxy((await s3Service()).port);
  try {
    t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: proxy.endpoint } });
    const restore = spawnCli(["restore", "--node", "a", "--json", file], {
      ...t.box.env,
      TIERMV_PAUSE_AT: "restore-mid-copy:1",
    });
    await stoppedAt(restore.pid);
    expect(statSync(file).size).toBe(8 * MiB); // the first chunk is in
    proxy.setMode("refuse");
    process.kill(restore.pid, "SIGCONT");
    expect(await restore.exited).toBe(1); // the target is down: an operator's matter
    // No prefix of the object is left for a migrate to take as the file's content.
    expect(statSync(file).size).toBe(0);
    expect(mtimeNsOf(file)).toBe(mtime);
    proxy.setMode("pass");
    const again = await t.tier("restore", [file]);
    expect(again.outcomes[0]).toMatchObject({ kind: "restored" });
    expect(readFileSync(file).equals(Buffer.from(data))).toBe(true);
  } finally {
    proxy.stop();
  }
});
