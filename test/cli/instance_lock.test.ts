/**
 * The single-instance lock (an flock, not a pid file): a reused pid never blocks a node, and a
 * holder that cannot be healthy (stopped, or a zombie stuck in a hung mount) is reported as an
 * error naming its pid, its state and how long its heartbeat has been silent.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUN_LOCK_DIR, TMP_LOCK_DIR } from "../../cli/lock_dir.ts";
import { instanceLockPath } from "../../jobs/context/instance_lock.ts";
import { SPOOL_MARKER } from "../../jobs/spool/marker.ts";
import type { CliRuntime } from "../cli_runtime.ts";
import { cli, mkfifo, REPO, sandbox, spawnCli, tempDir, waitFor } from "../helpers.ts";

function lockOf(box: { env: Record<string, string>; spool: string }, node: string): string {
  return instanceLockPath(box.env.TIERMV_LOCK_DIR ?? "", box.spool, node);
}

test("a lock file that names a live pid does not block: only a held flock does (pid reuse)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  box.file("a.txt", "a");
  // Left by a process that died, whose pid now belongs to someone else (here: init, pid 1).
  const me = { machine: "m", boot: "b", pid: 1, start: "1" };
  writeFileSync(lockOf(box, "a"), JSON.stringify({ v: 1, node: "a", identity: me, at: "x" }));
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once"], box.env);
  expect(run.stdout + run.stderr).not.toContain("already running");
  expect(run.code).toBe(0);
  expect(existsSync(join(box.dir, "out/a.txt"))).toBe(true);
  // The run recorded itself while it held the lock, and emptied the file when it let go.
  expect(readFileSync(lockOf(box, "a"), "utf8")).toBe("");
});

// The holder and the second run under either runtime: the lock and the identity in it are the
// same whichever runtime wrote them.
const HOLDERS: [string, CliRuntime, CliRuntime][] = [
  ["bun holds, bun asks", "bun", "bun"],
  ["bun holds, deno asks", "bun", "deno"],
  ["deno holds, bun asks", "deno", "bun"],
];

test.each(HOLDERS)(
  "a holder that stopped ticking (alive, heartbeat silent for 6 heartbeats): the second run exits 1 and says so (%s)",
  async (_, holder, asker) => {
    const box = sandbox({
      target: "file:///tmp/unused",
      extra: { schedule: { tickMs: 50, heartbeatMs: 160 } },
    });
    box.setConfig({ target: `file://${box.dir}/out` });
    const first = spawnCli(["run", "--node", "a", "--watch"], box.env, { runtime: holder });
    try {
      const beat = join(box.spool, "nodes/a/heartbeat");
      await waitFor(() => existsSync(beat), "the first scheduler's heartbeat");
      first.kill("SIGSTOP"); // a process that hangs (as in a hung mount) but exists
      const lastBeat = () => Date.parse(JSON.parse(readFileSync(beat, "utf8")).at);
      await waitFor(() => Date.now() - lastBeat() > 1500, "the heartbeat to go silent");
      const second = await cli(["run", "--node", "a", "--once"], box.env, { runtime: asker });
      expect(second.code).toBe(1);
      const said = second.stdout + second.stderr;
      expect(said).toContain(`looks stuck: pid ${first.pid} is alive`);
      expect(said).toMatch(/its heartbeat has been silent for \d+(\.\d)? s/);
      expect(said).toContain("schedule.heartbeatMs");
    } finally {
      first.kill("SIGCONT");
      first.kill("SIGTERM");
      await first.exited;
    }
  },
);

test("a zombie holder (exited, a thread stuck in the kernel) keeps the node from running: exit 1, named as a zombie", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const fifo = mkfifo(join(tempDir("zombie"), "fifo"));
  const zombie = Bun.spawn(
    [process.execPath, join(REPO, "test/runtime/zombie_child.ts"), fifo, box.spool, "a"],
    { env: { ...process.env, ...box.env }, stdout: "pipe", stderr: "inherit" },
  );
  try {
    const { value } = await zombie.stdout.getReader().read();
    const identity = JSON.parse(new TextDecoder().decode(value));
    expect(identity).toMatchObject({ pid: zombie.pid });
    const state = () => readFileSync(`/proc/${zombie.pid}/stat`, "utf8").split(") ")[1]?.[0];
    await waitFor(() => state() === "Z", "the holder's main thread to exit");
    const second = await cli(["run", "--node", "a", "--once"], box.env);
    expect(second.code).toBe(1);
    const said = second.stdout + second.stderr;
    expect(said).toContain(`pid ${zombie.pid} is a zombie`);
    expect(said).toContain("its heartbeat has been silent for");
    expect(said).toContain(lockOf(box, "a"));
  } finally {
    zombie.kill("SIGKILL");
    await zombie.exited;
  }
  // Once the zombie is gone the kernel has released its lock: the node runs again.
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
});

test("the lock directory is fixed per host: a second run from a shell with another TMPDIR is refused", async () => {
  const box = sandbox({ target: "file:///tmp/unused", extra: { schedule: { tickMs: 50 } } });
  box.setConfig({ target: `file://${box.dir}/out` });
  // No TIERMV_LOCK_DIR: the default directory, whatever TMPDIR says.
  const { TIERMV_LOCK_DIR: _, ...shared } = box.env;
  const env = (tmp: string) => ({ ...shared, TMPDIR: tempDir(tmp) });
  const first = spawnCli(["run", "--node", "a", "--watch"], env("service"));
  try {
    await waitFor(
      () => existsSync(join(box.spool, "nodes/a/heartbeat")),
      "the first scheduler's heartbeat",
    );
    const second = await cli(["run", "--node", "a", "--once"], env("operator"));
    expect(second.code).toBe(0);
    const said = second.stdout + second.stderr;
    expect(said).toContain(`Node "a" is already running here (pid ${first.pid}`);
    const dir = existsSync(RUN_LOCK_DIR) ? RUN_LOCK_DIR : TMP_LOCK_DIR;
    expect(said).toContain(instanceLockPath(dir, box.spool, "a"));
  } finally {
    first.kill("SIGTERM");
    await first.exited;
  }
});

test("the lock comes before the shared mount: next to a stuck holder, a second run whose spool does not answer names the holder (exit 1), not the mount", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    extra: { schedule: { tickMs: 50, heartbeatMs: 160 } },
  });
  box.setConfig({ target: `file://${box.dir}/out`, mount: { timeoutMs: 500 } });
  const first = spawnCli(["run", "--node", "a", "--watch"], box.env);
  const marker = join(box.spool, SPOOL_MARKER);
  try {
    const beat = join(box.spool, "nodes/a/heartbeat");
    await waitFor(() => existsSync(beat), "the first scheduler's heartbeat");
    first.kill("SIGSTOP");
    const lastBeat = () => Date.parse(JSON.parse(readFileSync(beat, "utf8")).at);
    await waitFor(() => Date.now() - lastBeat() > 1500, "the heartbeat to go silent");
    // The spool stops answering: its marker is a FIFO without a writer, and reading it blocks in
    // open(2) as a lookup on a stopped ceph-fuse does (test/runtime/mount_deadline.test.ts).
    rmSync(marker);
    mkfifo(marker);
    const second = await cli(["run", "--node", "a", "--once"], box.env);
    const said = second.stdout + second.stderr;
    expect(second.code).toBe(1);
    expect(said).toContain(`Node "a" is already running here but looks stuck: pid ${first.pid}`);
    expect(said).not.toContain("did not answer");
  } finally {
    first.kill("SIGCONT");
    first.kill("SIGTERM");
    await first.exited;
  }
  // Without the holder, the same run meets the mount first: its message names the spool marker.
  const alone = await cli(["run", "--node", "a", "--once"], box.env);
  expect(alone.code).toBe(1);
  expect(alone.stdout + alone.stderr).toContain(`The shared mount did not answer`);
  expect(alone.stdout + alone.stderr).toContain(box.spool);
});

test("one spool written two ways is one lock; two spools whose readable tags agree are two", () => {
  expect(instanceLockPath("/run/x", "/mnt/spool/", "a")).toBe(
    instanceLockPath("/run/x", "/mnt//spool/./", "a"),
  );
  expect(instanceLockPath("/run/x", "/mnt/a-b", "a")).not.toBe(
    instanceLockPath("/run/x", "/mnt/a_b", "a"),
  );
});
