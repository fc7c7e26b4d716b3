/**
 * Becomes "a process whose main thread exited while a thread is stuck in a frozen mount", for the
 * process-state and instance-lock tests. A pool thread of the runtime blocks in open(2) of a FIFO
 * with no writer (as on a stopped ceph-fuse); then the main thread exits by itself with
 * pthread_exit, so the thread group lives on with a zombie leader, which is what /proc shows for a
 * process that exited while one of its threads is stuck in the kernel. With SPOOL and NODE, it
 * first takes that node's single-instance lock (TIERMV_LOCK_DIR), which the zombie keeps holding.
 * Prints its identity, then exits its main thread.
 * Usage: bun test/runtime/zombie_child.ts FIFO [SPOOL NODE]
 */
import { dlopen, FFIType } from "bun:ffi";
import { readdirSync, readFileSync, writeSync } from "node:fs";
import { acquireInstanceLock } from "../../jobs/context/instance_lock.ts";
import { createRuntime } from "../../runtime/bun.ts";

const [fifo = "", spool, node] = process.argv.slice(2);
const rt = createRuntime({ mount: { timeoutMs: 600_000 } });
const identity = rt.process.identity();
if (spool && node)
  await acquireInstanceLock(rt, spool, node, {
    liveWithinMs: 60_000,
    dir: process.env.TIERMV_LOCK_DIR ?? "",
  });
rt.fs.readText(fifo).catch(() => {});

// openat(2) is syscall 257 on x86_64: wait until a thread of ours is blocked in it.
const OPENAT = process.arch === "arm64" ? "56 " : "257 ";
const inOpen = () =>
  readdirSync("/proc/self/task").some((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/syscall`, "utf8").startsWith(OPENAT);
    } catch {
      return false;
    }
  });
while (!inOpen()) await new Promise((resolve) => setTimeout(resolve, 5));

writeSync(1, `${JSON.stringify(identity)}\n`);
const libc = dlopen("libc.so.6", {
  pthread_exit: { args: [FFIType.ptr], returns: FFIType.void },
}).symbols;
libc.pthread_exit(null);
