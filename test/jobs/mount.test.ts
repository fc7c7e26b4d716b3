import { expect, test } from "bun:test";
import { closeSync, constants, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { retryFailedTasks } from "../../jobs/retry.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { FsError } from "../../runtime/errors.ts";
import type { FileHandle, Runtime } from "../../runtime/types.ts";
import { mkfifo, sandbox, waitFor } from "../helpers.ts";
import { holderOf } from "../records.ts";

test("a call stuck in the kernel on one file, with the mount's root still answering, is that file's error; the mount is not unavailable", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const hung = box.file("hung/file.bin", "data");
  box.file("ok.bin", "data");
  const fifo = mkfifo(join(box.dir, "no-writer"));
  // Settings of its own: a pool that this test alone makes stuck.
  const rt = createRuntime({ mount: { timeoutMs: 300, maxStuckThreads: 3 } });
  await submitRequest(createJobContext(rt, box.config, silentLog), { paths: [box.src], node: "a" });
  // The hung file's verify (its fstat and the lstat of its path, one hand-off) really blocks in
  // the kernel, like a lookup on a stopped ceph-fuse: it first reads a FIFO that has no writer
  // (open(2) waits for one), on a thread of the pool.
  const hanging: Runtime = {
    ...rt,
    async openFile(path, options) {
      const handle = await rt.openFile(path, options);
      if (path !== hung) return handle;
      const statWithPath: FileHandle["statWithPath"] = () =>
        rt.fs.readText(fifo).then(() => handle.statWithPath());
      return Object.assign(Object.create(handle), { statWithPath, path: handle.path });
    },
  };
  const tick = await runNodeOnce(createJobContext(hanging, box.config, silentLog), "a");
  // The probe (a stat of the root) answered: the timeout is the file's, the task finishes.
  expect(tick.unavailable).toBeUndefined();
  expect(tick.counts).toMatchObject({ migrated: 1, error: 1 });
  const nodeDir = join(box.spool, "nodes/a");
  expect(readdirSync(join(nodeDir, "failed")).filter((n) => n.endsWith(".task")).length).toBe(1);
  expect(readdirSync(join(nodeDir, "running"))).toEqual([]);
  // The call returns: the operator retries the task, and its abandoned attempt is resolved.
  closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  await waitFor(() => rt.mountStatus().abandoned === 0, "the stuck thread to return");
  await retryFailedTasks(createJobContext(rt, box.config, silentLog), "a");
  const healed = await runNodeOnce(createJobContext(rt, box.config, silentLog), "a");
  // The hung file migrates now (committed on behalf of its abandoned attempt, whose upload had
  // finished); the other one was committed in the first cycle already.
  expect(healed.counts).toMatchObject({ migrated: 1, skipped: 1, failed: 0, error: 0 });
});

test("ENOTCONN on a file: the root's probe fails too, so the mount is unavailable and the task goes back to pending untouched", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const first = box.file("a.bin", "data");
  box.file("b.bin", "data");
  const rt = createRuntime({ mount: box.config.mount });
  await submitRequest(createJobContext(rt, box.config, silentLog), { paths: [box.src], node: "a" });
  // A FUSE client whose daemon died answers ENOTCONN to every call under the mount point.
  let down = true;
  const dead = (path: string) => new FsError("ENOTCONN", "open", path);
  const gone: Runtime = {
    ...rt,
    openFile: (path, options) =>
      down && path.startsWith(box.src) ? Promise.reject(dead(path)) : rt.openFile(path, options),
    fs: {
      ...rt.fs,
      stat: (p) => (down && p === box.config.root ? Promise.reject(dead(p)) : rt.fs.stat(p)),
    },
  };
  const tick = await runNodeOnce(createJobContext(gone, box.config, silentLog), "a");
  expect(tick.unavailable?.what).toBe("mount");
  expect(tick.unavailable?.error).toContain(
    `The shared mount of ${box.config.root} is unavailable`,
  );
  expect(tick.unavailable?.error).toContain("Check that it is mounted");
  expect(tick.counts.error).toBe(0);
  const nodeDir = join(box.spool, "nodes/a");
  expect(readdirSync(join(nodeDir, "pending")).filter((n) => n.endsWith(".task")).length).toBe(1);
  expect(readdirSync(join(nodeDir, "running")).filter((n) => n.endsWith(".task"))).toEqual([]);
  expect(await holderOf(first)).toBeNull();
  // The same error with the root answering is that file's: the other file migrates.
  down = false;
  const once = {
    ...gone,
    openFile: (path: string, options: Parameters<Runtime["openFile"]>[1]) =>
      path === first ? Promise.reject(dead(path)) : rt.openFile(path, options),
  };
  const tick2 = await runNodeOnce(createJobContext(once, box.config, silentLog), "a");
  expect(tick2.unavailable).toBeUndefined();
  expect(tick2.counts).toMatchObject({ migrated: 1, error: 1 });
});
