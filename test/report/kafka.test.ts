/**
 * Result events through the outbox to a real Kafka broker (KRaft), read back with kafkajs.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI_RUNTIMES, type CliRuntime } from "../cli_runtime.ts";
import { cli, lastJsonLine, sandbox } from "../helpers.ts";
import { type KafkaService, startKafka } from "../services/kafka.ts";
import { kafkaBrokers } from "../services/shared.ts";
import { consumeAll, outboxLines } from "./kafka_helpers.ts";

let topicCounter = 0;
const newTopic = () => `events-${process.pid}-${++topicCounter}`;
const own: KafkaService[] = [];
afterAll(async () => {
  for (const k of own) await k.destroy();
});

async function createTopic(brokers: string[], topic: string) {
  const { Kafka, logLevel } = await import("kafkajs");
  const admin = new Kafka({ clientId: "t", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
}

function box(extra: Record<string, unknown> = {}) {
  const b = sandbox({ target: "file:///tmp/unused", extra });
  b.setConfig({ target: `file://${b.dir}/out` });
  for (let i = 0; i < 40; i++) b.file(`e/${i % 4}/${i}.txt`, `event source ${i}`);
  return b;
}

/** 40 files migrated by node a with no Kafka configured yet, and a fresh topic on the broker. */
async function migratedWithoutKafka(runtime: CliRuntime = "bun") {
  const { brokers } = await kafkaBrokers();
  const topic = newTopic();
  await createTopic(brokers, topic);
  const b = box();
  await cli(["submit", "--node", "a", b.src], b.env, { runtime });
  expect((await cli(["run", "--node", "a"], b.env, { runtime })).code).toBe(0);
  return { brokers, topic, b };
}

test.each(CLI_RUNTIMES)(
  "the events of a migration arrive on the topic exactly as the outbox holds them, keyed by path (%s)",
  async (runtime) => {
    const { brokers, topic, b } = await migratedWithoutKafka(runtime); // the outbox is the report
    const outbox = outboxLines(b.spool, "a");
    expect(outbox.length).toBe(41); // 40 files + the task event
    const events = await cli(["events", "--node", "a"], b.env, { runtime });
    expect(events.stdout.trim().split("\n")).toEqual(outbox);
    b.setConfig({ kafka: { brokers, topic } });
    const report = await cli(["report", "--node", "a"], b.env, { runtime });
    expect(report.code).toBe(0);
    // kafkajs's negative timer (runtime/bun.ts) prints nothing in an operator's log.
    expect(report.stderr).not.toContain("TimeoutNegativeWarning");
    const consumed = await consumeAll(brokers, topic);
    expect(consumed.map((m) => m.value).sort()).toEqual([...outbox].sort());
    for (const m of consumed) {
      const event = JSON.parse(m.value);
      expect(m.key).toBe(event.path || event.taskId);
    }
    expect(outboxLines(b.spool, "a")).toEqual([]); // shipped segments are deleted
  },
);

test("broker down mid-run: migration completes, events wait; broker back: every event arrives", async () => {
  const kafka = await startKafka();
  own.push(kafka);
  const topic = newTopic();
  await kafka.createTopic(topic);
  const b = box({ kafka: { brokers: kafka.brokers, topic: "placeholder", timeoutMs: 2000 } });
  b.setConfig({ kafka: { brokers: kafka.brokers, topic, timeoutMs: 2000 } });
  await cli(["submit", "--node", "a", b.src], b.env);
  await kafka.stop();
  const started = Date.now();
  const run = await cli(["run", "--node", "a", "--json"], b.env);
  expect(run.code).toBe(0);
  const summary = lastJsonLine(run.stdout);
  expect(summary.counts.migrated).toBe(40);
  expect(summary.report.error).toContain("Kafka");
  expect(Date.now() - started).toBeLessThan(60_000); // bounded by the timeout, no hang
  const waiting = outboxLines(b.spool, "a");
  expect(waiting.length).toBe(41);
  const status = JSON.parse((await cli(["status", "--json"], b.env)).stdout)[0];
  expect(status.outboxLag).toBe(41);
  expect(status.lastReportError).toContain("Kafka");
  await kafka.start();
  expect((await cli(["report", "--node", "a"], b.env)).code).toBe(0);
  const consumed = await consumeAll(kafka.brokers, topic);
  const ids = new Set(consumed.map((m) => JSON.parse(m.value).eventId));
  for (const line of waiting) expect(ids.has(JSON.parse(line).eventId)).toBe(true);
  console.log(
    `outage: ${waiting.length} events waited, ${consumed.length} arrived, ${consumed.length - ids.size} duplicates`,
  );
  const after = JSON.parse((await cli(["status", "--json"], b.env)).stdout)[0];
  expect(after).toMatchObject({ outboxLag: 0, lastReportError: null });
});

test("kill -9 of report between the broker's ack and the cursor write, then a rerun: nothing lost", async () => {
  const { brokers, topic, b } = await migratedWithoutKafka();
  const outbox = outboxLines(b.spool, "a");
  b.setConfig({ kafka: { brokers, topic, batch: 10 } });
  const crashed = await cli(["report", "--node", "a"], {
    ...b.env,
    TIERMV_CRASH_AT: "report-after-send:2",
  });
  expect(crashed.code).toBe(137);
  expect((await cli(["report", "--node", "a"], b.env)).code).toBe(0);
  const consumed = await consumeAll(brokers, topic);
  const ids = consumed.map((m) => JSON.parse(m.value).eventId);
  for (const line of outbox) expect(ids).toContain(JSON.parse(line).eventId);
  const duplicates = ids.length - new Set(ids).size;
  console.log(
    `report crash: ${outbox.length} events, ${consumed.length} delivered, ${duplicates} duplicates`,
  );
  expect(duplicates).toBeGreaterThan(0); // the unacknowledged-by-cursor batch was resent
  expect(duplicates).toBeLessThanOrEqual(10);
});

test("a corrupt outbox line is quarantined with a reason, not a crash; the rest is shipped", async () => {
  const { brokers, topic, b } = await migratedWithoutKafka();
  const dir = join(b.spool, "nodes/a/outbox");
  const segment = require("node:fs")
    .readdirSync(dir)
    .find((n: string) => n.endsWith(".jsonl")) as string;
  const lines = readFileSync(join(dir, segment), "utf8").split("\n").filter(Boolean);
  lines.splice(3, 0, "{not json", JSON.stringify({ v: 1, what: "no eventId" }));
  writeFileSync(join(dir, segment), `${lines.join("\n")}\n`);
  b.setConfig({ kafka: { brokers, topic } });
  const report = await cli(["report", "--node", "a"], b.env);
  expect(report.code).toBe(0);
  expect(report.stderr + report.stdout).toContain("quarantine");
  const quarantined = readFileSync(join(dir, "quarantine.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(quarantined.map((q) => q.line)).toEqual([4, 5]);
  expect(quarantined[0].reason).toBe("not JSON");
  expect(quarantined[1].reason).toContain("eventId");
  expect((await consumeAll(brokers, topic)).length).toBe(41);
  expect(existsSync(join(dir, segment))).toBe(false);
});
