/** Reading a topic back with kafkajs: everything up to the current end offsets. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { dropKafkajsTimerWarning } from "../../runtime/warnings.ts";

// The harness uses kafkajs as the product does: its timestamp-sized negative timer warning is
// noise in the CI log (runtime/warnings.ts).
dropKafkajsTimerWarning();

export interface Consumed {
  key: string;
  value: string;
}

export async function consumeAll(
  brokers: string[],
  topic: string,
  timeoutMs = 60_000,
): Promise<Consumed[]> {
  const kafka = new Kafka({ clientId: "tiermv-test-reader", brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((e) => Number(e.high) > 0).map((e) => [e.partition, Number(e.high)]),
  );
  const out: Consumed[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Topic ${topic} not read to its end within ${timeoutMs} ms`)),
      timeoutMs,
    );
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          out.push({ key: message.key?.toString() ?? "", value: message.value?.toString() ?? "" });
          const end = remaining.get(partition);
          if (end !== undefined && Number(message.offset) + 1 >= end) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}

/** Every event line in a node's outbox segments (not the quarantine). */
export function outboxLines(spool: string, node: string): string[] {
  const dir = join(spool, "nodes", node, "outbox");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /\.\d{6}\.jsonl$/.test(n))
    .sort()
    .flatMap((n) => readFileSync(join(dir, n), "utf8").split("\n").filter(Boolean));
}
