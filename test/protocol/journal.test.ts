/**
 * Issue 15.7: the journal survives torn writes. Appends are whole lines: an append after a torn
 * tail (a crash in the middle of an earlier append) starts a new line; lines are ASCII, so a
 * fragment is never invalid UTF-8; the reader reports a fragment and resynchronises at the next
 * newline; and the file of a torn entry is found again (its epoch is still held) and cleaned.
 */
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  appendJournal,
  newJournalEntry,
  parseJournalLine,
  readJournal,
} from "../../jobs/spool/journal.ts";
import { ensureNodeDirs, nodeDirs } from "../../jobs/spool/layout.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { checkInvariants, startCluster } from "../cluster.ts";
import { randomBytes, sandbox } from "../helpers.ts";
import { putRecord, recordsOf, stateOf, takeRecord } from "../records.ts";

const rt = createRuntime();

function entry(path: string, epoch: number) {
  return newJournalEntry({
    path,
    ino: "77",
    epoch,
    attempt: `attempt-${epoch}`,
    key: "k",
    target: "file:///t",
    uploadIds: [],
    node: "a",
    task: "t",
    requestId: "r",
    error: "failed",
    tries: 1,
  });
}

test("a crash in the middle of an append: the next append starts a new line, rollback reports the fragment, and the torn entry's file is found again (its epoch still held) and cleaned", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("t/torn.bin", randomBytes(1200, 31));
  await c.submit("a", [path]);
  // What a kill -9 in the middle of the append of epoch 1's line leaves: this node's take of
  // epoch 1, by a process that is gone, and the first half of its journal line.
  const { machine, boot } = rt.process.identity();
  const dead = { machine, boot, pid: Bun.spawnSync(["true"]).pid, start: "1" };
  const target = c.box.config.target;
  const take = takeRecord({
    n: 1,
    node: "a",
    attempt: "t0rn",
    key: "m/t/torn.bin",
    target,
    proc: dead,
  });
  await putRecord(path, "l.1", take);
  const journal = join(c.box.spool, "nodes/a/failed-files.jsonl");
  mkdirSync(join(c.box.spool, "nodes/a"), { recursive: true });
  const fragment = JSON.stringify({ v: 2, path, ino: "1", epoch: 1, attempt: "t0rn" }).slice(0, 40);
  writeFileSync(journal, fragment);
  const run = await c.runJson("a");
  expect(run.code).toBe(0);
  expect(run.json.rollback.reduce((n: number, r: { torn: number }) => n + r.torn, 0)).toBe(1);
  // The fragment stayed a line of its own; the resolution's line of epoch 1 follows it, whole.
  const lines = readFileSync(journal, "utf8").split("\n");
  expect(lines[0]).toBe(fragment);
  expect(JSON.parse(lines[1] ?? "")).toMatchObject({ path, epoch: 1, attempt: "t0rn" });
  await c.quiesce();
  expect((await stateOf(path))?.attempt).not.toBe("t0rn");
  expect((await recordsOf(path)).l.has(1)).toBe(false); // cleaned, then garbage-collected
  expect((await checkInvariants(c)).violations).toEqual([]);
});

test("journal lines are ASCII: a line torn inside a non-ASCII path is read as a fragment, never as invalid UTF-8", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const dirs = nodeDirs(box.spool, "a");
  await ensureNodeDirs(rt, dirs);
  const name = `${box.src}/été/日本.bin`;
  await appendJournal(rt, dirs, entry(name, 1));
  const bytes = readFileSync(dirs.journal);
  // Cut inside the first non-ASCII character if there is one, else inside its escape.
  const raw = bytes.indexOf(Buffer.from("é"));
  const cut = raw >= 0 ? raw + 1 : bytes.indexOf(Buffer.from("\\u00e9")) + 1;
  truncateSync(dirs.journal, cut);
  await appendJournal(rt, dirs, entry(name, 2));
  const items = [];
  for await (const item of readJournal(rt, dirs, 0)) items.push(item);
  expect(items).toHaveLength(2);
  expect(items[0]).toMatchObject({ line: 1, torn: true });
  expect(items[1]).toMatchObject({ line: 2, entry: { path: name, epoch: 2 } });
});

test("a whole line glued onto a torn fragment (appends before this fix) is found again after the fragment", () => {
  const whole = JSON.stringify(entry("/src/glued.bin", 3));
  const glued = `{"v":2,"path":"/src/torn${whole}`;
  expect(parseJournalLine(glued, 9)).toMatchObject({
    line: 9,
    entry: { path: "/src/glued.bin", epoch: 3 },
    torn: '{"v":2,"path":"/src/torn',
  });
});
