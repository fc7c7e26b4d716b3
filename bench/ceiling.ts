/**
 * Ceiling probe: the highest small-PUT rate this s3proxy reaches from a minimal parallel client
 * (the AWS SDK, 64 requests in flight, 16 KiB bodies, for a fixed time, after a 10 s warm-up).
 * Tool results read as a fraction of it. Usage: bun bench/ceiling.ts ENDPOINT BUCKET SECONDS
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const [endpoint, bucket, seconds = "10"] = process.argv.slice(2);
const client = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
});
const body = new Uint8Array(16 * 1024).fill(7);

/** PUTs for `ms` milliseconds with 64 in flight; returns how many completed. */
async function putFor(ms: number, tag: string): Promise<number> {
  const deadline = Date.now() + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const key = `ceiling/${tag}/${w}/${i}`;
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        done++;
      }
    }),
  );
  return done;
}

// The probe runs first, against a fresh JVM: warm its JIT up before measuring (without this,
// the 2026-11-25 run measured 332 PUT/s, below what the tools reached afterwards).
await putFor(10_000, "warmup");
const done = await putFor(Number(seconds) * 1000, "measured");
console.log(JSON.stringify({ puts: done, perSecond: done / Number(seconds) }));
client.destroy();
