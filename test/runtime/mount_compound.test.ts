/**
 * Compound calls (runtime/mount_compound.ts) as the calls one by one would be: each call reports
 * progress once it returns, so the hand-off's deadline restarts after each of them (the worker
 * throttles the reports, mount_worker.ts), and a call failing in the middle stops the calls after
 * it and comes back as its own error, with its op, path and attribute.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRuntime, workerPort } from "../../runtime/bun.ts";
import { MountUnavailableError, XattrError } from "../../runtime/errors.ts";
import { bindLibc } from "../../runtime/libc_bun.ts";
import { createMountOps } from "../../runtime/mount_ops.ts";
import { MountPool } from "../../runtime/mount_pool.ts";
import { tempDir } from "../helpers.ts";

const enc = new TextEncoder();

function tempFile(): string {
  const path = join(tempDir("tiermv-compound-"), "f");
  writeFileSync(path, "payload");
  return path;
}

test("a compound call reports progress after each of its calls, so its deadline restarts per call as a batch's does", () => {
  let reports = 0;
  const ops = createMountOps(bindLibc(), {
    progress: () => void reports++,
    buffer: (length) => new Uint8Array(length),
  });
  const path = tempFile();
  // open, fstat, flock, flistxattr, fgetxattr of the top name, fstat and fgetxattr of the mark.
  const fd = ops.open(path, "readwrite").fd;
  ops.fsetxattr(fd, "user.tiermv.e.1", enc.encode("{}"), "create");
  ops.close(fd);
  reports = 0;
  const looked = ops.openLook(path, "readwrite", true, "user.tiermv.e.", "user.tiermv.norelease");
  expect(looked.top?.name).toBe("user.tiermv.e.1");
  expect(looked.marked?.value?.ok).toBe(true);
  expect(reports).toBe(7);
  reports = 0;
  const rechecked = ops.listTopThenFstat(looked.fd, "user.tiermv.e.", ["user.tiermv.e.1"]);
  expect(rechecked.stat?.ok).toBe(true);
  expect(reports).toBe(3); // the remove, the listing, the fstat (no top name left to read)
  ops.close(looked.fd);
});

test("a remove failing in the middle of a compound call: the removes after it and the listing are not made, and its own error comes back", async () => {
  const rt = createRuntime();
  const path = tempFile();
  const handle = await rt.openFile(path, { mode: "readwrite" });
  for (const name of ["user.a", "user.b"]) await handle.setXattr(name, enc.encode("1"), "create");
  const bad = `user.${"x".repeat(300)}`; // longer than XATTR_NAME_MAX: ERANGE
  const err = await handle
    .listTopThenStat("user.tiermv.e.", ["user.a", bad, "user.b"])
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(XattrError);
  expect(err).toMatchObject({ code: "ERANGE", op: "remove", path, attr: bad });
  // user.a was removed before the failure, user.b after it was not.
  expect((await handle.listXattr()).filter((n) => n.startsWith("user.")).sort()).toEqual([
    "user.b",
  ]);
  await handle.close();
});

/** A pool of one slowed thread (slow_mount_worker.ts): each libc call takes `slowMs` first. */
function slowPool(slowMs: number, timeoutMs: number): MountPool {
  return new MountPool({
    timeoutMs,
    maxStuckThreads: 2,
    threads: 1,
    spawn: () => {
      const worker = new Worker(new URL("./slow_mount_worker.ts", import.meta.url).href);
      worker.postMessage({ slowMs }); // its first message, before the pool's
      return workerPort(worker);
    },
  });
}

test("a compound call of six slow calls, each within the deadline, outlives the deadline twice over and answers; one call slower than the deadline is cut", async () => {
  const path = tempFile();
  const look = [path, "readwrite", true, "user.tiermv.e.", "user.tiermv.norelease"] as const;
  const meta = { op: "open, stat, lock, list, read and stat", path };
  // open, statx, flock, flistxattr, statx, fgetxattr (counted through the proxy): 150 ms each,
  // against a 300 ms deadline. The pools' threads are unref'd: left idle, they end with the test.
  const pool = slowPool(150, 300);
  const started = performance.now();
  const looked = await pool.call("openLook", [...look], meta);
  const took = performance.now() - started;
  // Not a performance check: the sleeps make this a floor, the proof that the compound did
  // outlast its deadline (six calls of 150 ms against 300 ms) and was not cut.
  expect(took).toBeGreaterThan(600);
  expect(looked.stat?.ok).toBe(true);
  expect(looked.locked?.ok).toBe(true);
  await pool.call("close", [looked.fd], { op: "close", path });
  // The same compound when one call outlasts the deadline: cut, as a single call would be.
  const cut = await slowPool(700, 300)
    .call("openLook", [...look], meta)
    .catch((e: unknown) => e);
  expect(cut).toBeInstanceOf(MountUnavailableError);
  expect(cut).toMatchObject({ reason: "deadline", path });
}, 30_000);
