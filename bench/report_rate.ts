/**
 * Events/s shipped by `report` to a local Kafka broker (`bun bench/report_rate.ts [events]`):
 * starts a KRaft broker (test harness), fills one node's outbox with synthetic events, runs
 * `tiermv report` and times it; also prints the broker's start time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKafka } from "../test/services/kafka.ts";

const EVENTS = Number(process.argv[2] ?? 50_000);
const REPO = new URL("..", import.meta.url).pathname;
const began = Date.now();
const kafka = await startKafka();
console.log(
  `kafka: ready ${Date.now() - began} ms after the harness began (broker process ${kafka.startMs} ms)`,
);
await kafka.createTopic("bench-events", 3);
const dir = mkdtempSync(join(tmpdir(), "tiermv-bench-report-"));
const outbox = join(dir, "spool/nodes/a/outbox");
mkdirSync(outbox, { recursive: true });
const lines: string[] = [];
for (let i = 0; i < EVENTS; i++) {
  const event = {
    v: 1,
    eventId: `bench${i}:migrated`,
    requestId: "bench",
    taskId: `t${Math.floor(i / 500)}`,
    node: "a",
    path: `/data/p${i % 100}/f${i}.bin`,
    outcome: "migrated",
    key: `p${i % 100}/f${i}.bin`,
    etag: "d41d8cd98f00b204e9800998ecf8427e",
    bytes: 16384,
    ms: 3,
    attempt: `bench${i}`,
    at: new Date().toISOString(),
  };
  lines.push(JSON.stringify(event));
}
for (let s = 0; s * 5000 < EVENTS; s++) {
  writeFileSync(
    join(outbox, `t${String(s).padStart(6, "0")}.000000.jsonl`),
    `${lines.slice(s * 5000, (s + 1) * 5000).join("\n")}\n`,
  );
}
const config = join(dir, "config.json");
mkdirSync(join(dir, "data"), { recursive: true });
writeFileSync(
  config,
  JSON.stringify({
    spool: join(dir, "spool"),
    root: join(dir, "data"),
    target: `file://${dir}/out`,
    nodes: ["a"],
    kafka: { brokers: kafka.brokers, topic: "bench-events" },
  }),
);
const init = Bun.spawnSync([
  process.execPath,
  join(REPO, "cli/main.ts"),
  "init",
  "--config",
  config,
]);
if (init.exitCode !== 0) throw new Error(init.stderr.toString());
const t0 = performance.now();
const proc = Bun.spawnSync([process.execPath, join(REPO, "cli/main.ts"), "report", "--node", "a"], {
  env: { ...process.env, TIERMV_CONFIG: config },
});
const seconds = (performance.now() - t0) / 1000;
if (proc.exitCode !== 0) throw new Error(proc.stderr.toString());
console.log(
  `report: ${EVENTS} events in ${seconds.toFixed(2)} s = ${Math.round(EVENTS / seconds)} events/s (batches of 500, acks=all, idempotent)`,
);
await kafka.destroy();
rmSync(dir, { recursive: true, force: true });
