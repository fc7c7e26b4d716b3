/**
 * Outbox pruning (`report --prune-after DAYS`, `report.pruneAfterDays` on every run): without
 * Kafka, sealed segments older than the limit go (the outbox is the report); with Kafka, only
 * what the broker acknowledged goes, never an unshipped segment, whatever its age.
 */
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, eventLine, sandbox } from "../helpers.ts";

const DAY_S = 24 * 60 * 60;

/** An outbox with an old and a recent sealed segment, and an old one of a running task. */
function outboxBox(extra: Record<string, unknown> = {}, options = { running: true }) {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, ...extra });
  const node = join(box.spool, "nodes/a");
  const outbox = join(node, "outbox");
  for (const dir of ["outbox", "running", "pending"])
    mkdirSync(join(node, dir), { recursive: true });
  const old = Date.now() / 1000 - 40 * DAY_S;
  const write = (name: string, lines: number, ageS?: number) => {
    const path = join(outbox, name);
    writeFileSync(path, `${Array.from({ length: lines }, (_, i) => eventLine(i)).join("\n")}\n`);
    if (ageS !== undefined) utimesSync(path, ageS, ageS);
  };
  write("t-old.000000.jsonl", 3, old);
  write("t-recent.000000.jsonl", 2);
  if (options.running) {
    write("t-running.000000.jsonl", 1, old);
    // t-running's task is still in running/: its segment is not sealed.
    writeFileSync(join(node, "running/t-running.task"), "{}\n");
  }
  return { box, outbox };
}

const segments = (outbox: string) =>
  readdirSync(outbox)
    .filter((n) => n.endsWith(".jsonl"))
    .sort();

test("without Kafka, report --prune-after DAYS deletes sealed segments older than DAYS, nothing else", async () => {
  const { box, outbox } = outboxBox();
  const bad = await cli(["report", "--node", "a", "--prune-after", "soon"], box.env);
  expect(bad.code).toBe(2);
  const result = await cli(["report", "--node", "a", "--prune-after", "30"], box.env);
  expect(result.code).toBe(0);
  expect(result.stderr).toContain("Outbox pruned: 1 segments");
  expect(segments(outbox)).toEqual(["t-recent.000000.jsonl", "t-running.000000.jsonl"]);
});

test("report.pruneAfterDays prunes on every run without any command line", async () => {
  const { box, outbox } = outboxBox({ report: { pruneAfterDays: 30 } }, { running: false });
  const run = await cli(["run", "--node", "a", "--once"], { ...box.env, TIERMV_LOG: "json" });
  expect(run.code).toBe(0);
  expect(segments(outbox)).toEqual(["t-recent.000000.jsonl"]);
  expect(run.stderr).toContain("1 outbox segments pruned");
});

test("with Kafka configured, only old shipped segments and stale cursors go: an old unshipped segment stays", async () => {
  // Brokers that cannot be reached: the report itself fails (exit 1), the prune still runs.
  const kafka = { brokers: ["127.0.0.1:1"], topic: "t", timeoutMs: 1000 };
  const { box, outbox } = outboxBox({ kafka });
  const old = Date.now() / 1000 - 40 * DAY_S;
  // t-shipped (old) and t-recent were fully shipped (cursors cover every line) but not deleted.
  writeFileSync(join(outbox, "t-shipped.000000.jsonl"), `${eventLine(1)}\n`);
  utimesSync(join(outbox, "t-shipped.000000.jsonl"), old, old);
  writeFileSync(join(outbox, "t-shipped.000000.jsonl.cursor"), "1\n");
  writeFileSync(join(outbox, "t-recent.000000.jsonl.cursor"), "2\n");
  writeFileSync(join(outbox, "t-gone.000000.jsonl.cursor"), "5\n");
  const result = await cli(["report", "--node", "a", "--prune-after", "30"], box.env);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("Outbox pruned: 1 segments, 1 stale cursors removed");
  // DAYS counts with Kafka too: the recent shipped one stays; the old unshipped one stays.
  expect(segments(outbox)).toEqual([
    "t-old.000000.jsonl",
    "t-recent.000000.jsonl",
    "t-running.000000.jsonl",
  ]);
  expect(readdirSync(outbox).filter((n) => n.endsWith(".cursor"))).toEqual([
    "t-recent.000000.jsonl.cursor",
  ]);
});

test("--prune-after 0 and report.pruneAfterDays 0 are refused (exit 2): they deleted the whole report", async () => {
  const { box, outbox } = outboxBox();
  const zero = await cli(["report", "--node", "a", "--prune-after", "0"], box.env);
  expect(zero.code).toBe(2);
  expect(zero.stderr).toContain('--prune-after must be a number of days, at least 1, got "0"');
  const document = JSON.parse(readFileSync(box.configPath, "utf8"));
  writeFileSync(box.configPath, JSON.stringify({ ...document, report: { pruneAfterDays: 0 } }));
  const config = await cli(["run", "--node", "a", "--once"], box.env);
  expect(config.code).toBe(2);
  expect(config.stderr).toContain('field "report.pruneAfterDays" must be at least 1, got 0');
  expect(segments(outbox)).toHaveLength(3);
});
