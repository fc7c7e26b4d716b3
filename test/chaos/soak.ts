/**
 * The chaos soak: 3 real node schedulers (`run --watch`) on one spool, each behind its own TCP
 * fault proxy to s3proxy, its own Kafka broker, and a seeded storm of faults: kill -9 and restart
 * of nodes; proxies that refuse, cut mid-body, stall or randomly cut; Kafka stopped and started;
 * a writer modifying and deleting source files; requests submitted twice and overlapping. Then
 * quiesce and run the independent checker. `npm run chaos -- --faults 1000 --seed 7`.
 */
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { cli, randomBytes, sandbox, spawnCli } from "../helpers.ts";
import { xorshift } from "../prng.ts";
import { consumeAll } from "../report/kafka_helpers.ts";
import { type FaultProxy, startFaultProxy } from "../services/fault_proxy.ts";
import { startKafka } from "../services/kafka.ts";
import { newBucket, s3Client, s3Service } from "../services/shared.ts";
import { type CheckReport, check } from "./checker.ts";

export interface SoakResult {
  faults: Record<string, number>;
  files: number;
  report: CheckReport;
  events: number;
  outcomes: Record<string, number>;
  rollbacks: number;
  seconds: number;
}

export async function soak(options: {
  faults: number;
  seed: number;
  log?: (line: string) => void;
}): Promise<SoakResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const random = xorshift(options.seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  // Whatever happens below (a failed check, an exception), every process started here is stopped.
  await using cleanup = new AsyncDisposableStack();
  const s3 = await s3Service();
  const kafka = cleanup.use(await startKafka());
  const topic = `chaos-${options.seed}`;
  await kafka.createTopic(topic, 3);
  const bucket = await newBucket(s3.endpoint);
  const nodes = ["a", "b", "c"];
  const box = sandbox({
    target: `s3://${bucket}/c`,
    endpoint: s3.endpoint,
    nodes,
    extra: {
      // No upload retry: every cut or refused upload becomes a journalled failure and a rollback.
      migrate: { concurrency: 6, uploadRetries: 0, uploadRetryBaseMs: 10 },
      mount: { timeoutMs: 5000 },
      retry: { busyBaseMs: 50, busyMaxMs: 1000, maxFailedAttempts: 1000 },
      schedule: { tickMs: 200 },
      dispatch: { maxFiles: 20 },
      kafka: { brokers: kafka.brokers, topic, timeoutMs: 1500 },
    },
  });
  const files: string[] = [];
  for (let i = 0; i < 150; i++)
    files.push(
      box.file(
        `d${i % 6}/f${i}.bin`,
        randomBytes(200 + Math.floor(random() * 30_000), i + options.seed),
      ),
    );
  files.push(box.file("big/one.bin", randomBytes(17 * 1024 * 1024, options.seed)));
  const proxies: Record<string, FaultProxy> = {};
  const configs: Record<string, string> = {};
  for (const node of nodes) {
    proxies[node] = cleanup.use(await startFaultProxy(s3.port));
    const doc = JSON.parse(readFileSync(box.configPath, "utf8"));
    configs[node] = join(box.dir, `config-${node}.json`);
    writeFileSync(
      configs[node],
      JSON.stringify({ ...doc, s3: { ...doc.s3, endpoint: proxies[node].endpoint } }),
    );
  }
  const touched = new Set<string>();
  const faults: Record<string, number> = {};
  const count = (kind: string) => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const watchers: Record<string, Subprocess<"ignore", "pipe", "pipe">> = {};
  cleanup.defer(async () => {
    for (const w of Object.values(watchers)) w.kill("SIGKILL");
    await Promise.all(Object.values(watchers).map((w) => w.exited));
  });
  const startNode = (node: string) => {
    watchers[node] = spawnCli(
      ["run", "--node", node, "--watch", "--quiet", "--config", configs[node] ?? ""],
      box.env,
    );
  };
  let submits = 0;
  const submit = (node: string, paths: string[]) =>
    cli(
      [
        "submit",
        "--node",
        node,
        "--request-id",
        `chaos-${++submits}`,
        "--config",
        configs[node] ?? "",
        ...paths,
      ],
      box.env,
    );

  for (const node of nodes) startNode(node);
  // The same files to two nodes at once, and overlapping directories to the third.
  await submit("a", [box.src]);
  await submit("b", [box.src]);
  await submit("c", [join(box.src, "d0"), join(box.src, "d1"), join(box.src, "big")]);

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let kafkaDown = false;
  for (let i = 0; i < options.faults; i++) {
    const roll = random();
    const node = pick(nodes);
    if (roll < 0.3) {
      count("kill -9 node");
      watchers[node]?.kill("SIGKILL");
      await watchers[node]?.exited;
      startNode(node);
    } else if (roll < 0.62) {
      const mode = pick(["refuse", "cut", "flaky", "hold"] as const);
      count(`network ${mode}`);
      const proxy = proxies[node] as FaultProxy;
      if (mode === "flaky") proxy.setFlaky(0.3, Math.floor(random() * 1e9));
      else proxy.setMode(mode);
      await sleep(200 + random() * 800);
      if (mode === "hold") proxy.release();
      else proxy.setMode("pass");
    } else if (roll < 0.74) {
      count("writer modifies a file");
      const file = pick(files);
      try {
        appendFileSync(file, "modified by the chaos writer\n");
        touched.add(file);
      } catch {
        // deleted before: nothing to modify
      }
    } else if (roll < 0.77) {
      count("writer deletes a file");
      const file = pick(files);
      try {
        unlinkSync(file);
        touched.add(file);
      } catch {
        // already gone
      }
    } else if (roll < 0.97) {
      // New files keep arriving, each batch submitted to two nodes at once; or an old directory
      // again (its modified files migrate as new versions).
      if (random() < 0.6) {
        count("new files submitted to two nodes");
        const dir = `n${i}`;
        for (let k = 0; k < 6; k++)
          files.push(
            box.file(
              `${dir}/f${k}.bin`,
              randomBytes(500 + Math.floor(random() * 60_000), i * 10 + k),
            ),
          );
        const [x, y] = [node, pick(nodes.filter((n) => n !== node))];
        await Promise.all([submit(x, [join(box.src, dir)]), submit(y, [join(box.src, dir)])]);
      } else {
        count("duplicate or overlapping request");
        await submit(node, [join(box.src, `d${Math.floor(random() * 6)}`)]);
      }
    } else if (!kafkaDown) {
      count("kafka stopped");
      kafkaDown = true;
      await kafka.stop();
    } else {
      count("kafka restarted");
      kafkaDown = false;
      await kafka.start();
    }
    await sleep(50 + random() * 150);
    if ((i + 1) % 50 === 0) log(`${i + 1} faults injected`);
  }
  if (kafkaDown) await kafka.start();
  if (!faults["kafka stopped"]) {
    count("kafka stopped");
    await kafka.stop();
    count("kafka restarted");
    await kafka.start();
  }

  // Quiesce: faults off, schedulers stopped, then every node once per round until all is done.
  for (const p of Object.values(proxies)) p.setMode("pass");
  for (const w of Object.values(watchers)) w.kill("SIGKILL");
  for (const w of Object.values(watchers)) await w.exited;
  for (let round = 0; ; round++) {
    const runs = await Promise.all(
      nodes.map((n) =>
        cli(["run", "--node", n, "--once", "--quiet", "--config", configs[n] ?? ""], box.env),
      ),
    );
    for (const r of runs) if (r.code !== 0) throw new Error(`quiesce run failed: ${r.stderr}`);
    const status = JSON.parse(
      (await cli(["status", "--json", "--config", box.configPath], box.env)).stdout,
    );
    const busy = status.some(
      (s: {
        pending: number;
        running: number;
        failedBacklog: number;
        outboxLag: number;
        waitingCleanups: number;
      }) => s.pending + s.running + s.failedBacklog + s.outboxLag + s.waitingCleanups > 0,
    );
    if (!busy) break;
    if (round > 80) throw new Error(`not quiet after 80 rounds: ${JSON.stringify(status)}`);
    await sleep(250);
  }
  const events = await consumeAll(kafka.brokers, topic);
  const eventIds = new Set(events.map((e) => JSON.parse(e.value).eventId as string));
  const outcomes: Record<string, number> = {};
  for (const e of events) {
    const o = JSON.parse(e.value).outcome as string;
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  const client = s3Client(s3.endpoint);
  const report = await check({
    src: box.src,
    spool: box.spool,
    nodes,
    bucket,
    prefix: "c/",
    client,
    eventIds,
    touched,
  });
  client.destroy();
  const result = {
    faults,
    files: files.length,
    report,
    events: events.length,
    outcomes,
    rollbacks: report.journalLines,
    seconds: (Date.now() - started) / 1000,
  };
  rmSync(join(box.dir, "src"), { recursive: true, force: true });
  mkdirSync(join(box.dir, "src"));
  return result;
}

export function describe(r: SoakResult): string {
  const kinds = Object.entries(r.faults)
    .sort()
    .map(([k, n]) => `${k}: ${n}`)
    .join(", ");
  const total = Object.values(r.faults).reduce((a, b) => a + b, 0);
  return [
    `chaos soak: ${total} faults in ${r.seconds.toFixed(0)} s (${kinds})`,
    `files ${r.report.files} on disk of ${r.files}, commits ${r.report.committed}, objects ${r.report.objects}, failed attempts rolled back ${r.rollbacks}, events on Kafka ${r.events} (${Object.entries(
      r.outcomes,
    )
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")})`,
    `violations: ${r.report.violations.length}${r.report.violations.length ? `\n  ${r.report.violations.slice(0, 20).join("\n  ")}` : ""}`,
  ].join("\n");
}
