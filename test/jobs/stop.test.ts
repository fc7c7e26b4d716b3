import { expect, spyOn, test } from "bun:test";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { FsError } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { sandbox } from "../helpers.ts";
import { holderOf } from "../records.ts";

const rt = createRuntime();

test("a stop during an upload's retry backoff ends the wait: the file is interrupted at once (not failed) and its epoch stays held for rollback", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({
    target: `file://${box.dir}/out`,
    migrate: { uploadRetries: 3, uploadRetryBaseMs: 60_000 },
  });
  const path = box.file("f.bin", "data");
  await submitRequest(createJobContext(rt, box.config, silentLog), { paths: [path], node: "a" });
  // Every write into the file target fails with EIO: a transient error, retried after 60 s.
  const failing: Runtime = {
    ...rt,
    fs: {
      ...rt.fs,
      writeDurable: async (to, data) =>
        to.includes("/out/.tiermv-tmp/")
          ? Promise.reject(new FsError("EIO", "write", to))
          : rt.fs.writeDurable(to, data),
    },
  };
  // The stop lands during the backoff, every time: the upload logs its retry and then starts
  // the 60 s wait in the same synchronous step, so a macrotask queued at the log runs once the
  // wait has begun (a timer of 300 ms could fire before the first attempt, or never matter).
  const controller = new AbortController();
  let retries = 0;
  const log = {
    ...silentLog,
    warn(message: string) {
      if (!message.startsWith("Retrying upload")) return;
      retries++;
      setTimeout(() => controller.abort(), 0);
    },
  };
  const ctx = createJobContext(failing, box.config, log, controller.signal);
  const started = Date.now();
  const tick = await runNodeOnce(ctx, "a");
  expect(retries).toBe(1); // one backoff began, and the stop ended it
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(tick.counts).toMatchObject({ interrupted: 1, failed: 0 });
  expect((await holderOf(path))?.node).toBe("a");
});

test("a run over many tasks leaves no listener on the stop signal: each task's grace listener goes when its task ends (issue 2.5)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, dispatch: { maxFiles: 1 } });
  const paths = Array.from({ length: 20 }, (_, i) => box.file(`f${i}.bin`, `data ${i}`));
  await submitRequest(createJobContext(rt, box.config, silentLog), { paths, node: "a" });
  const controller = new AbortController();
  const added = spyOn(controller.signal, "addEventListener");
  const removed = spyOn(controller.signal, "removeEventListener");
  const tick = await runNodeOnce(
    createJobContext(rt, box.config, silentLog, controller.signal),
    "a",
  );
  expect(tick.tasks).toHaveLength(20);
  expect(tick.counts).toMatchObject({ migrated: 20, failed: 0 });
  // Every listener added during the run (one per task at least) was taken off again.
  const listeners = (calls: unknown[][]) => calls.map((args) => args[1]);
  const left = listeners(added.mock.calls).filter(
    (l) => !listeners(removed.mock.calls).includes(l),
  );
  expect(added.mock.calls.length).toBeGreaterThanOrEqual(20);
  expect(left).toEqual([]);
});
