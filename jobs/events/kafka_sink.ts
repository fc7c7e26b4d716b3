/**
 * The Kafka side of `report`: a kafkajs producer (idempotent, acks=all, one request in flight so
 * a retry cannot reorder) bounded by a deadline, so an unreachable cluster makes `report` fail
 * fast with a clear error instead of hanging the scheduler.
 */
import { Kafka, logLevel, type Producer, type SASLOptions } from "kafkajs";
import type { Config } from "../context/config.ts";
import { deadline } from "../util/async.ts";
import { TiermvError } from "../util/errors.ts";

/** The brokers could not be reached or did not answer in time: events wait in the outbox. */
export class KafkaUnavailableError extends TiermvError {
  constructor(message: string, options?: ErrorOptions) {
    super("KAFKA_UNAVAILABLE", message, options);
  }
}

export interface EventSink {
  send(messages: { key: string; value: string }[]): Promise<void>;
  close(): Promise<void>;
}

type KafkaSettings = NonNullable<Config["kafka"]>;

/** Bounds a broker call by `kafka.timeoutMs`; every failure becomes KafkaUnavailableError. */
async function withDeadline<T>(
  what: string,
  settings: KafkaSettings,
  work: Promise<T>,
): Promise<T> {
  const brokers = settings.brokers.join(",");
  try {
    return await deadline(work, settings.timeoutMs, {
      onTimeout: () =>
        new KafkaUnavailableError(
          `Kafka (${brokers}) did not ${what} within ${settings.timeoutMs} ms`,
        ),
    });
  } catch (err) {
    if (err instanceof KafkaUnavailableError) throw err;
    throw new KafkaUnavailableError(
      `Kafka (${brokers}) could not ${what}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export async function openKafkaSink(settings: KafkaSettings): Promise<EventSink> {
  const sasl = settings.sasl as SASLOptions | undefined;
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    sasl,
    connectionTimeout: Math.min(settings.timeoutMs, 5_000),
    requestTimeout: settings.timeoutMs,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: logLevel.NOTHING,
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const disconnect = () =>
    withDeadline("disconnect", settings, producer.disconnect()).catch(() => undefined);
  try {
    await withDeadline("connect", settings, producer.connect());
  } catch (err) {
    await disconnect();
    throw err;
  }
  return {
    async send(messages) {
      await withDeadline(
        "acknowledge a batch",
        settings,
        producer.send({ topic: settings.topic, acks: -1, messages }),
      );
    },
    close: async () => {
      await disconnect();
    },
  };
}
