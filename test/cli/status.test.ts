/**
 * `tiermv status`: what an operator needs to know per node, and nothing stale: pending tasks that
 * still name an old target are counted, and a report error is shown only while Kafka is
 * configured.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, sandbox } from "../helpers.ts";

test("after the target changes, status counts the pending tasks that still name the old one (they migrate there)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/old` });
  const file = box.file("p/a.txt", "a");
  expect((await cli(["submit", "--node", "a", file], box.env)).code).toBe(0);
  box.setConfig({ target: `file://${box.dir}/new` });
  const table = await cli(["status"], box.env);
  expect(table.code).toBe(0);
  expect(table.stdout).toContain(
    `a: 1 pending tasks name another target than the config's file://${box.dir}/new: they migrate to the target they name`,
  );
  const json = JSON.parse((await cli(["status", "--json"], box.env)).stdout);
  expect(json.map((n: { pendingOtherTarget: number }) => n.pendingOtherTarget)).toEqual([1, 0, 0]);
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(1);
  expect(existsSync(join(box.dir, "old/p/a.txt"))).toBe(true);
  expect(existsSync(join(box.dir, "new/p/a.txt"))).toBe(false);
});

test("a report error is shown while Kafka is configured, and not after Kafka was removed", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const kafka = { brokers: ["127.0.0.1:1"], topic: "t", timeoutMs: 2000 };
  box.setConfig({ target: `file://${box.dir}/out`, kafka });
  const outbox = join(box.spool, "nodes/a/outbox");
  mkdirSync(outbox, { recursive: true });
  writeFileSync(join(outbox, "t1.000000.jsonl"), `${JSON.stringify({ v: 1, eventId: "e" })}\n`);
  expect((await cli(["report", "--node", "a"], box.env)).code).toBe(1);
  const down = await cli(["status"], box.env);
  expect(down.stdout).toContain("a: last report failed: Kafka (127.0.0.1:1)");
  box.setConfig({ target: `file://${box.dir}/out`, kafka: undefined });
  const removed = await cli(["status"], box.env);
  expect(removed.code).toBe(0);
  expect(removed.stdout).not.toContain("last report failed");
  const json = JSON.parse((await cli(["status", "--json"], box.env)).stdout);
  expect(json[0].lastReportError).toBeNull();
});
