/**
 * Ceiling probe: the highest small-PUT rate this s3proxy reaches from a minimal parallel client
 * (the AWS SDK, 64 requests in flight, 16 KiB bodies, for a fixed time). Tool results read as a
 * fraction of it. Usage: bun bench/ceiling.ts ENDPOINT BUCKET SECONDS
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
const deadline = Date.now() + Number(seconds) * 1000;
let done = 0;
await Promise.all(
  Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; Date.now() < deadline; i++) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: `ceiling/${w}/${i}`, Body: body }),
      );
      done++;
    }
  }),
);
console.log(JSON.stringify({ puts: done, perSecond: done / Number(seconds) }));
client.destroy();
