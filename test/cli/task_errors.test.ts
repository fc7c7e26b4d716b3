/**
 * A task file that turns out unreadable halfway (a line that is not UTF-8): the entries before it
 * finish before the task is moved to bad/, so every file committed has its event and is counted.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, sandbox, taskHeader } from "../helpers.ts";

test("a task whose line 18 is not UTF-8: the 16 uploads in flight finish, are counted and have their events", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, migrate: { concurrency: 16 } });
  const files = Array.from({ length: 16 }, (_, i) => box.file(`f/${i}.bin`, `content ${i}`));
  const text = [
    taskHeader("t-broken", box.config.target),
    ...files.map((p) => JSON.stringify({ path: p })),
  ];
  const pending = join(box.spool, "nodes/a/pending");
  mkdirSync(pending, { recursive: true });
  const bytes = Buffer.concat([
    Buffer.from(`${text.join("\n")}\n`),
    Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), // "{\xff\xfe}": not UTF-8
  ]);
  writeFileSync(join(pending, "t-broken.task"), bytes);
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(run.code).toBe(1); // a bad task needs an operator
  const node = join(box.spool, "nodes/a");
  expect(existsSync(join(node, "bad/t-broken.task"))).toBe(true);
  expect(readFileSync(join(node, "bad/t-broken.task.why"), "utf8")).toContain("line 18");
  const migrated = readdirSync(join(node, "outbox"))
    .filter((n) => n.endsWith(".jsonl"))
    .flatMap((n) =>
      readFileSync(join(node, "outbox", n), "utf8")
        .trim()
        .split("\n"),
    )
    .map((l) => JSON.parse(l))
    .filter((e) => e.outcome === "migrated");
  expect(migrated).toHaveLength(16);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(16);
  expect(readdirSync(join(box.dir, "out/f"))).toHaveLength(16);
});
