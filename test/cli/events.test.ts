/**
 * `tiermv events`: the outbox as JSON lines. --follow prints each event once and whole (a line
 * being appended waits for its newline), and a segment that is shipped or pruned meanwhile is
 * not an error.
 */
import { expect, test } from "bun:test";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, sandbox, spawnCli, streamText } from "../helpers.ts";

const event = (id: string) =>
  JSON.stringify({ v: 1, eventId: id, node: "a", path: `/p/${id}`, outcome: "migrated" });

test("events --follow prints a torn last line once, completed; a pruned segment is not an error", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const outbox = join(box.spool, "nodes/a/outbox");
  mkdirSync(outbox, { recursive: true });
  const first = join(outbox, "t1.000000.jsonl");
  const torn = event("e3");
  writeFileSync(first, `${event("e1")}\n${event("e2")}\n${torn.slice(0, 20)}`);
  // Without --follow: the complete lines only.
  const once = await cli(["events", "--node", "a"], box.env);
  expect(once.code).toBe(0);
  expect(once.stdout.trim().split("\n")).toEqual([event("e1"), event("e2")]);

  const follow = spawnCli(["events", "--node", "a", "--follow"], box.env);
  try {
    const out = streamText(follow.stdout);
    await out.until(/"e2"/, "the first two events");
    appendFileSync(first, `${torn.slice(20)}\n`);
    await out.until(/"e3".*\n/, "the completed third event");
    // The segment is shipped or pruned, and a new one appears.
    rmSync(first);
    writeFileSync(join(outbox, "t2.000000.jsonl"), `${event("e4")}\n`);
    await out.until(/"e4".*\n/, "the event of the new segment");
    follow.kill("SIGTERM");
    expect(await follow.exited).toBe(0);
    expect(out.text.trim().split("\n")).toEqual([event("e1"), event("e2"), torn, event("e4")]);
  } finally {
    follow.kill("SIGKILL");
  }
});
