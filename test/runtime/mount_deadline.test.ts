/**
 * Deadlines on the shared mount without a Ceph cluster: a call that really blocks in the kernel.
 * `readText` of a FIFO with no writer blocks in open(2) (no O_NONBLOCK on that path), exactly as
 * a lookup on a stopped ceph-fuse does; opening the FIFO's write end is the mount thawing.
 * Each test uses pool settings of its own (pools are shared per settings), so the threads it makes
 * stuck are its own.
 */
import { expect, test } from "bun:test";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { MountUnavailableError } from "../../runtime/errors.ts";
import { mkfifo, tempDir, waitFor } from "../helpers.ts";

function dir(): string {
  return tempDir("deadline");
}

/** The mount thaws: a writer opens the FIFO (the stuck open returns) and closes it (EOF). */
function thaw(fifo: string): void {
  closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
}

test("a call stuck in the kernel misses its deadline; the pool stays usable, then fails fast past its bound, and stuck threads rejoin when the mount thaws", async () => {
  const timeoutMs = 300;
  const rt = createRuntime({ mount: { timeoutMs, maxStuckThreads: 2, threads: 2 } });
  const d = dir();
  const healthy = join(d, "healthy");
  writeFileSync(healthy, "ok");
  const [first, second] = [mkfifo(join(d, "fifo-1")), mkfifo(join(d, "fifo-2"))];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    // 1. The stuck call rejects within its deadline, and the event loop keeps running meanwhile.
    const started = performance.now();
    const stuck = await rt.fs.readText(first).catch((e) => e);
    const waited = performance.now() - started;
    expect(stuck).toBeInstanceOf(MountUnavailableError);
    expect(stuck).toMatchObject({ op: "read", path: first, timeoutMs, reason: "deadline" });
    expect(stuck.message).toContain(`did not answer read "${first}" within ${timeoutMs} ms`);
    expect(waited).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(waited).toBeLessThan(timeoutMs + 700);
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(rt.mountStatus()).toMatchObject({ abandoned: 1 });

    // 2. A healthy path still works (a replacement thread serves it), local writes included.
    expect(await rt.fs.readText(healthy)).toBe("ok");
    await rt.fs.writeDurable(join(d, "written"), "still writing");
    expect(await rt.fs.readText(join(d, "written"))).toBe("still writing");

    // 3. A second stuck thread reaches the bound: every call now fails fast, healthy or not.
    expect(await rt.fs.readText(second).catch((e) => e.reason)).toBe("deadline");
    expect(rt.mountStatus()).toMatchObject({ abandoned: 2, maxStuckThreads: 2 });
    const fast = performance.now();
    const refused = await rt.fs.stat(healthy).catch((e) => e);
    expect(performance.now() - fast).toBeLessThan(50);
    expect(refused).toBeInstanceOf(MountUnavailableError);
    expect(refused).toMatchObject({ op: "stat", path: healthy, reason: "stuck" });

    // 4. The mount thaws: each stuck thread returns and rejoins; calls work again.
    thaw(first);
    await waitFor(() => rt.mountStatus().abandoned === 1, "the first stuck thread to return");
    expect((await rt.fs.stat(healthy)).size).toBe(2);
    thaw(second);
    await waitFor(() => rt.mountStatus().abandoned === 0, "the second stuck thread to return");
    const status = rt.mountStatus();
    expect(status.lateReturns).toBe(2);
    expect(status.live).toBeLessThanOrEqual(2);
    expect(await rt.fs.readText(healthy)).toBe("ok");
  } finally {
    clearInterval(timer);
    for (const fifo of [first, second]) {
      try {
        thaw(fifo);
      } catch {
        // ENXIO: nobody reads it any more.
      }
    }
  }
});

test("a descriptor that a stuck open returns late is closed, not leaked", async () => {
  const rt = createRuntime({ mount: { timeoutMs: 200, maxStuckThreads: 3, threads: 1 } });
  const fifo = mkfifo(join(dir(), "fifo"));
  const onFifo = () =>
    readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === fifo;
      } catch {
        return false; // closed meanwhile
      }
    }).length;
  // readLines opens its path on a pool thread without O_NONBLOCK: on a FIFO the open blocks.
  const lines = rt.fs.readLines(fifo)[Symbol.asyncIterator]();
  expect(await lines.next().catch((e) => e.reason)).toBe("deadline");
  thaw(fifo);
  await waitFor(() => rt.mountStatus().abandoned === 0, "the stuck open to return");
  await waitFor(() => onFifo() === 0, "the late descriptor to be closed");
});

test("a call batched behind a stuck one fails with it and never starts late", async () => {
  const rt = createRuntime({ mount: { timeoutMs: 300, maxStuckThreads: 2, threads: 1 } });
  const d = dir();
  const fifo = mkfifo(join(d, "fifo"));
  const [from, to] = [join(d, "a"), join(d, "b")];
  writeFileSync(from, "x");
  writeFileSync(join(d, "big"), new Uint8Array(32 * 1024 * 1024));
  // The only thread is busy hashing: the next two calls queue, and then go out as one batch.
  const busy = rt.md5File(join(d, "big"));
  const stuck = rt.fs.readText(fifo).catch((e) => e);
  const behind = rt.fs.rename(from, to).catch((e) => e);
  await busy;
  expect((await stuck).reason).toBe("deadline");
  expect(await behind).toMatchObject({ op: "rename", reason: "deadline" });
  thaw(fifo);
  await waitFor(() => rt.mountStatus().abandoned === 0, "the stuck thread to return");
  // The thread came back and skipped the rename its caller had given up on.
  expect(existsSync(from)).toBe(true);
  expect(existsSync(to)).toBe(false);
});

test("a compound call batched behind a stuck one fails with it and never starts late: its create never lands", async () => {
  const rt = createRuntime({ mount: { timeoutMs: 350, maxStuckThreads: 2, threads: 1 } });
  const d = dir();
  const fifo = mkfifo(join(d, "fifo"));
  const file = join(d, "f");
  writeFileSync(file, "x");
  writeFileSync(join(d, "big"), new Uint8Array(32 * 1024 * 1024));
  const handle = await rt.openFile(file, { mode: "read" });
  // The only thread is busy hashing: the stuck call and the compound one go out as one batch.
  const busy = rt.md5File(join(d, "big"));
  const stuck = rt.fs.readText(fifo).catch((e) => e);
  const take = new TextEncoder().encode("take");
  const behind = handle.createXattrThenList("user.tiermv.l.1", take).catch((e) => e);
  await busy;
  expect((await stuck).reason).toBe("deadline");
  const error = await behind;
  expect(error).toBeInstanceOf(MountUnavailableError);
  expect(error).toMatchObject({ op: "create and list", path: file, reason: "deadline" });
  thaw(fifo);
  await waitFor(() => rt.mountStatus().abandoned === 0, "the stuck thread to return");
  // The thread came back and skipped the compound call: neither the create nor its listing ran.
  expect(await rt.xattr.list(file)).not.toContain("user.tiermv.l.1");
  await handle.close();
});

test("a long call that keeps making progress is not cut by a short deadline", async () => {
  const rt = createRuntime({ mount: { timeoutMs: 150, maxStuckThreads: 1, threads: 2 } });
  const path = join(dir(), "big");
  writeFileSync(path, new Uint8Array(256 * 1024 * 1024).fill(7));
  const started = performance.now();
  const hex = await rt.md5File(path);
  expect(hex).toMatch(/^[0-9a-f]{32}$/);
  // It took several deadlines (hashing 256 MiB), and its progress kept it alive.
  expect(performance.now() - started).toBeGreaterThan(150);
  expect(rt.mountStatus().abandoned).toBe(0);
});

test("the pool never keeps a process alive: a script that used it exits by itself, and not before its calls answer", async () => {
  const big = join(dir(), "big");
  writeFileSync(big, new Uint8Array(64 * 1024 * 1024).fill(3));
  // Nothing but the calls in flight keeps these scripts alive (the threads are unref'd): a long
  // call (a hash, seconds on a busy machine) still answers before the process exits.
  const proc = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { createRuntime } = await import(${JSON.stringify(join(import.meta.dir, "../../runtime/bun.ts"))});
       const rt = createRuntime();
       console.log((await rt.fs.stat("/")).kind);
       console.log(await rt.md5File(${JSON.stringify(big)}));`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const timer = setTimeout(() => proc.kill(), 30_000);
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(timer);
  const expected = new Bun.CryptoHasher("md5").update(readFileSync(big)).digest("hex");
  expect(out.trim().split("\n")).toEqual(["dir", expected]);
  expect(code).toBe(0);
});
