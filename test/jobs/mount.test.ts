import { expect, test } from "bun:test";
import { closeSync, constants, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { Runtime } from "../../runtime/types.ts";
import { mkfifo, sandbox, waitFor } from "../helpers.ts";

test("a hung mount (a call stuck in the kernel) skips the cycle and leaves the task pending", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const hung = box.file("hung/file.bin", "data");
  box.file("ok.bin", "data");
  const fifo = mkfifo(join(box.dir, "no-writer"));
  // Settings of its own: a pool that this test alone makes stuck.
  const rt = createRuntime({ mount: { timeoutMs: 300, maxStuckThreads: 3 } });
  await submitRequest(createJobContext(rt, box.config, silentLog), { paths: [box.src], node: "a" });
  // The hung file's lstat really blocks in the kernel, like a lookup on a stopped ceph-fuse: it
  // first reads a FIFO that has no writer (open(2) waits for one), on a thread of the pool.
  const hanging: Runtime = {
    ...rt,
    fs: {
      ...rt.fs,
      lstat: (p) => (p === hung ? rt.fs.readText(fifo).then(() => rt.fs.lstat(p)) : rt.fs.lstat(p)),
    },
  };
  const tick = await runNodeOnce(createJobContext(hanging, box.config, silentLog), "a");
  expect(tick.skipped).toContain("did not answer");
  const nodeDir = join(box.spool, "nodes/a");
  expect(readdirSync(join(nodeDir, "pending")).filter((n) => n.endsWith(".task")).length).toBe(1);
  expect(readdirSync(join(nodeDir, "running"))).toEqual([]);
  // The mount is back: the stuck thread returns, and the next cycle completes the task.
  closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  await waitFor(() => rt.mountStatus().abandoned === 0, "the stuck thread to return");
  const healed = await runNodeOnce(createJobContext(rt, box.config, silentLog), "a");
  // The hung file migrates now; the other one was committed in the first cycle already.
  expect(healed.counts).toMatchObject({ migrated: 1, skipped: 1, failed: 0 });
});
