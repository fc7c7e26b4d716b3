/** Process identity and state from /proc (docs/design.md 5a): pid reuse, other machines, zombies. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import type { ProcessIdentity } from "../../runtime/types.ts";
import { mkfifo, REPO, tempDir, waitFor } from "../helpers.ts";

const rt = createRuntime();

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot. */
function startOf(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

function identityOf(pid: number): ProcessIdentity {
  return { ...rt.process.identity(), pid, start: startOf(pid) };
}

function taskState(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ")[0] ?? "";
}

test("this process's identity: machine id, boot id, pid and start time", () => {
  const me = rt.process.identity();
  const machine = readFileSync("/etc/machine-id", "utf8").trim() || hostname();
  expect(me).toMatchObject({
    machine,
    boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
    pid: process.pid,
    start: startOf(process.pid),
  });
  expect(me.start).toMatch(/^\d+$/);
  expect(rt.process.processState(me)).toBe("alive");
});

test("a running process is alive; once it exited and was reaped it is dead", async () => {
  const child = Bun.spawn(["sleep", "30"]);
  const identity = identityOf(child.pid);
  expect(rt.process.processState(identity)).toBe("alive");
  child.kill("SIGKILL");
  await child.exited;
  expect(rt.process.processState(identity)).toBe("dead");
});

test("the same pid with another start time is another process (pid reuse): dead", () => {
  const me = rt.process.identity();
  expect(rt.process.processState({ ...me, start: String(Number(me.start) + 1) })).toBe("dead");
});

test("another machine, boot or pid namespace cannot be decided here: elsewhere", () => {
  const me = rt.process.identity();
  expect(rt.process.processState({ ...me, machine: "another-machine" })).toBe("elsewhere");
  expect(rt.process.processState({ ...me, boot: "another-boot" })).toBe("elsewhere");
  expect(rt.process.processState({ ...me, pidNs: "pid:[1]" })).toBe("elsewhere");
});

test("a process whose main thread exited while a thread is stuck in the kernel is a zombie, not dead", async () => {
  const fifo = mkfifo(join(tempDir("zombie"), "fifo"));
  const child = Bun.spawn([process.execPath, join(REPO, "test/runtime/zombie_child.ts"), fifo], {
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    const identity = JSON.parse(new TextDecoder().decode(value)) as ProcessIdentity;
    expect(identity.pid).toBe(child.pid);
    await waitFor(() => taskState(child.pid) === "Z", "the child's main thread to exit");
    // kill(pid, 0) still succeeds, but the process's main thread is gone: only /proc tells.
    expect(rt.process.isAlive(child.pid)).toBe(true);
    expect(rt.process.processState(identity)).toBe("zombie");
    child.kill("SIGKILL");
    await child.exited;
    expect(rt.process.processState(identity)).toBe("dead");
  } finally {
    child.kill("SIGKILL");
  }
});
