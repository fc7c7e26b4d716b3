/**
 * Release and restore isolate failures as migrate does (isolate.ts): a target that stops
 * answering during a release is found by its probe, the tick stops with the task pending and
 * `run --watch` keeps running (it backs off); once the target answers, the file is released.
 */
import { expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { cli, randomBytes, spawnCli, waitFor } from "../helpers.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { s3Service } from "../services/shared.ts";
import { currentState, tierBox } from "./tier_helpers.ts";

test("a target down during a release: the watch keeps running, the task waits in pending/, and the file is released once the target answers", async () => {
  const t = await tierBox();
  const [file] = await t.migrate({ "r.bin": randomBytes(64 * 1024, 5) });
  const proxy = await startFaultProxy((await s3Service()).port);
  try {
    t.box.setConfig({
      s3: { endpoint: proxy.endpoint },
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
