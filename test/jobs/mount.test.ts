import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { Runtime } from "../../runtime/types.ts";
import { sandbox } from "../helpers.ts";

const rt = createRuntime();

test("a hung mount (stat never answers) skips the cycle and leaves the task pending", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, migrate: { statTimeoutMs: 200 } });
  const hung = box.file("hung/file.bin", "data");
  box.file("ok.bin", "data");
  const ctx = createJobContext(rt, box.config, silentLog);
  await submitRequest(ctx, { paths: [box.src], node: "a" });
  // The runtime below answers every stat except the hung file's, like a stuck MDS would.
  const hanging: Runtime = {
    ...rt,
    fs: { ...rt.fs, lstat: (p) => (p === hung ? new Promise(() => {}) : rt.fs.lstat(p)) },
  };
  const tick = await runNodeOnce(createJobContext(hanging, box.config, silentLog), "a");
  expect(tick.skipped).toContain("did not answer");
  const nodeDir = join(box.spool, "nodes/a");
  expect(readdirSync(join(nodeDir, "pending")).filter((n) => n.endsWith(".task")).length).toBe(1);
  expect(readdirSync(join(nodeDir, "running"))).toEqual([]);
  // The mount is back: the next cycle completes the task.
  const healed = await runNodeOnce(createJobContext(rt, box.config, silentLog), "a");
  // The hung file migrates now; the other one was committed in the first cycle already.
  expect(healed.counts).toMatchObject({ migrated: 1, skipped: 1, failed: 0 });
});
