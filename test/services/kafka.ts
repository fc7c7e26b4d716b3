/**
 * A real single-node Apache Kafka broker in KRaft mode (combined broker + controller), from
 * Maven Central jars resolved by test/services/kafka/pom.xml, on free loopback ports with a temp
 * data dir and formatted storage. `stop()` and `start()` keep the data, so tests can take the
 * broker down and bring it back.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { Kafka, logLevel } from "kafkajs";
import { dropKafkajsTimerWarning } from "../../runtime/warnings.ts";
import { CACHE_DIR } from "./cache.ts";
import { own } from "./owned.ts";

// The harness uses kafkajs as the product does: its timestamp-sized negative timer warning is
// noise in the CI log (runtime/warnings.ts).
dropKafkajsTimerWarning();

export const KAFKA_VERSION = "4.1.1";
const POM_DIR = join(import.meta.dir, "kafka");

export interface KafkaService extends AsyncDisposable {
  brokers: string[];
  createTopic(topic: string, partitions?: number): Promise<void>;
  /** Stops the broker, keeping its data for `start` (idempotent). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the broker and removes its data (idempotent); also its async disposal. */
  destroy(): Promise<void>;
  /** Milliseconds from spawn to a broker answering metadata, for the last start. */
  startMs: number;
}

async function classpath(): Promise<string> {
  const file = join(CACHE_DIR, `kafka-${KAFKA_VERSION}.classpath`);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(CACHE_DIR, { recursive: true });
  const proc = Bun.spawn(
    [
      "mvn",
      "-q",
      "-B",
      "-f",
      join(POM_DIR, "pom.xml"),
      `-Dkafka.version=${KAFKA_VERSION}`,
      "dependency:build-classpath",
      `-Dmdep.outputFile=${file}`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const code = await proc.exited;
  if (code !== 0 || !existsSync(file)) {
    const out = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
    throw new Error(
      `mvn could not resolve Kafka ${KAFKA_VERSION} (exit ${code}):\n${out.slice(-2000)}`,
    );
  }
  return readFileSync(file, "utf8").trim();
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function clusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Buffer.from(bytes).toString("base64url");
}

export async function startKafka(): Promise<KafkaService> {
  const cp = await classpath();
  const dir = mkdtempSync(join(tmpdir(), "tiermv-kafka-"));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const props = join(dir, "server.properties");
  writeFileSync(
    props,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      `log.dirs=${join(dir, "data")}`,
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "transaction.state.log.num.partitions=1",
      "group.initial.rebalance.delay.ms=0",
      "num.partitions=1",
      "",
    ].join("\n"),
  );
  const java = [
    "java",
    "-Xms64m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-cp",
    cp,
  ];
  const format = Bun.spawnSync(
    [...java, "kafka.tools.StorageTool", "format", "-t", clusterId(), "-c", props],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (format.exitCode !== 0)
    throw new Error(`Kafka storage format failed: ${format.stderr.toString()}`);

  const brokers = [`127.0.0.1:${port}`];
  let proc: Subprocess | null = null;
  const stopBroker = async () => {
    const running = proc;
    proc = null;
    running?.kill("SIGKILL");
    await running?.exited;
  };
  // Owned from here on: whatever happens to the test process, the broker is stopped with it.
  const destroy = own({
    async stop() {
      await stopBroker();
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => proc?.kill("SIGKILL"),
  });
  const service: KafkaService = {
    brokers,
    startMs: 0,
    async start() {
      const began = Date.now();
      proc = Bun.spawn([...java, "kafka.Kafka", props], {
        stdout: Bun.file(join(dir, "broker.log")),
        stderr: "pipe",
      });
      await waitReady(brokers, dir);
      service.startMs = Date.now() - began;
    },
    stop: stopBroker,
    destroy,
    [Symbol.asyncDispose]: destroy,
    async createTopic(topic, partitions = 3) {
      const admin = new Kafka({
        clientId: "tiermv-test",
        brokers,
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic, numPartitions: partitions }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
    },
  };
  try {
    await service.start();
  } catch (err) {
    await destroy();
    throw err;
  }
  return service;
}

async function waitReady(brokers: string[], dir: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const admin = new Kafka({
      clientId: "tiermv-probe",
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 1000,
    }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return;
    } catch {
      if (Date.now() > deadline) {
        const log = existsSync(join(dir, "broker.log"))
          ? readFileSync(join(dir, "broker.log"), "utf8").slice(-3000)
          : "";
        throw new Error(`Kafka did not start within 90 s:\n${log}`);
      }
      await Bun.sleep(250);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}
