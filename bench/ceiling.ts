/**
 * Ceiling probe: the highest PUT rate a store reaches from a minimal parallel client (the AWS
 * SDK, fetch handler, kept-alive connections, `IN_FLIGHT` requests, bodies of `BODY_BYTES`), for a
 * fixed time after a warm-up. Tool results read as a fraction of it. Prints {puts, perSecond, mibs}.
 * Usage: bun bench/ceiling.ts ENDPOINT BUCKET SECONDS [BODY_BYTES=16384] [IN_FLIGHT=64] [WARMUP=10]
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { minimalS3Client } from "./sdk_client.ts";

const [endpoint, bucket, seconds = "10", bodyArg = "16384", inFlightArg = "64", warmup = "10"] =
  process.argv.slice(2);
const inFlight = Number(inFlightArg);
const client = minimalS3Client(endpoint);
// A Blob: sent as UNSIGNED-PAYLOAD, so the probe pays no SHA-256 per byte.
const body = new Blob([new Uint8Array(Number(bodyArg)).fill(7)]);

/** PUTs for `ms` milliseconds with `inFlight` in flight; returns how many completed. */
async function putFor(ms: number, tag: string): Promise<number> {
  const deadline = Date.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const key = `ceiling/${tag}/${w}/${i}`;
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        done++;
      }
    }),
  );
  return done;
}

// Against a fresh JVM, warm its JIT up before measuring (without this, the 2026-11-25 run
// measured 332 PUT/s, below what the tools reached afterwards).
if (Number(warmup) > 0) await putFor(Number(warmup) * 1000, "warmup");
const done = await putFor(Number(seconds) * 1000, "measured");
const perSecond = done / Number(seconds);
console.log(JSON.stringify({ puts: done, perSecond, mibs: (perSecond * body.size) / 1048576 }));
client.destroy();
