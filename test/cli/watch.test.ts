/**
 * `run --watch` as a service: an idle tick writes no log line (only ticks that did something do),
 * and the watch says why it stopped: a signal, or every node it runs drained and idle.
 */
import { expect, test } from "bun:test";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, jsonLines, sandbox, spawnCli, waitFor } from "../helpers.ts";

/** Waits until the node's heartbeat was rewritten `ticks` more times (one per tick). */
async function waitTicks(spool: string, ticks: number) {
  const beat = join(spool, "nodes/a/heartbeat");
  let seen = 0;
  let last = 0;
  await waitFor(() => {
    try {
      const mtime = statSync(beat).mtimeMs;
      if (mtime !== last) {
        last = mtime;
        seen++;
      }
    } catch {}
    return seen >= ticks;
  }, `${ticks} ticks`);
}

test("an idle --watch is quiet, works when a task arrives, and says it stopped on SIGTERM", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, schedule: { tickMs: 30 } });
  const proc = spawnCli(["run", "--node", "a", "--watch"], { ...box.env, TIERMV_LOG: "json" });
  try {
    await waitTicks(box.spool, 8);
    const file = box.file("late.txt", "arrives while watching");
    expect((await cli(["submit", "--node", "a", file], box.env)).code).toBe(0);
    await waitFor(() => {
      try {
        return statSync(join(box.dir, "out/late.txt")).size > 0;
      } catch {
        return false;
      }
    }, "the late file migrated");
    await waitTicks(box.spool, 8);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const lines = jsonLines(await new Response(proc.stderr).text());
    const msgs = lines.map((l) => l.msg);
    expect(msgs[0]).toBe("Watching node a (tick every 30 ms)");
    // One line for the tick that migrated the file, none for the 16+ idle ticks.
    expect(msgs.filter((m) => m.startsWith("node a:"))).toEqual([
      expect.stringContaining("1 tasks, 1 migrated"),
    ]);
    expect(msgs.at(-1)).toMatch(/^Watch of node a ends: stopped by SIGTERM \(after \d+ ticks\)$/);
    expect(lines.length).toBe(3);
  } finally {
    proc.kill("SIGKILL");
  }
});

test("a --watch whose node is drained and idle ends by itself and says so", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, schedule: { tickMs: 30 } });
  const proc = spawnCli(["run", "--node", "a", "--watch"], { ...box.env, TIERMV_LOG: "json" });
  try {
    await waitTicks(box.spool, 3);
    writeFileSync(join(box.spool, "nodes/a/DRAIN"), "now\n");
    expect(await proc.exited).toBe(0);
    const msgs = jsonLines(await new Response(proc.stderr).text()).map((l) => l.msg);
    expect(msgs.at(-1)).toMatch(/^Watch of node a ends: every node it runs is draining and idle/);
    expect(msgs).toHaveLength(2);
  } finally {
    proc.kill("SIGKILL");
  }
});

test("an idle --watch with Kafka down says so once, not every tick, and logs no success line", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const kafka = { brokers: ["127.0.0.1:1"], topic: "t", timeoutMs: 5000 };
  box.setConfig({ target: `file://${box.dir}/out`, schedule: { tickMs: 30 }, kafka });
  // A sealed segment waits to be shipped: every tick's report tries, and fails.
  const outbox = join(box.spool, "nodes/a/outbox");
  mkdirSync(outbox, { recursive: true });
  writeFileSync(join(outbox, "t1.000000.jsonl"), `${JSON.stringify({ v: 1, eventId: "e" })}\n`);
  const proc = spawnCli(["run", "--node", "a", "--watch"], { ...box.env, TIERMV_LOG: "json" });
  try {
    await waitTicks(box.spool, 6);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const lines = jsonLines(await new Response(proc.stderr).text());
    const kafkaLines = lines.filter((l) => l.msg.includes("Kafka"));
    expect(kafkaLines).toHaveLength(1);
    expect(kafkaLines[0]?.level).toBe("warn");
    expect(lines.filter((l) => l.level === "success")).toEqual([]);
    expect(lines).toHaveLength(3); // watching, Kafka unreachable, the end
  } finally {
    proc.kill("SIGKILL");
  }
});
