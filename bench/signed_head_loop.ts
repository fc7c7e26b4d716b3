/**
 * The store's HEAD rate with requests signed by aws4fetch and sent with fetch (no SDK), as
 * tiermv's own HEADs are since jobs/targets/s3_signed_reads.ts: the floor under release's
 * HEADs, beside bench/sdk_head_loop.ts (the issue's baseline). Same keys, same concurrency,
 * one kept-alive connection pool; a HEAD that is not 200 fails the run.
 * Usage: bun bench/signed_head_loop.ts ENDPOINT BUCKET PREFIX DIR CONCURRENCY
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { AwsClient } from "aws4fetch";

const [endpoint, bucket, prefix, dir, concurrency = "32"] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !dir) throw new Error("usage: ENDPOINT BUCKET PREFIX DIR N");
const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
if (!accessKeyId || !secretAccessKey)
  throw new Error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
const aws = new AwsClient({
  accessKeyId,
  secretAccessKey,
  service: "s3",
  region: "us-east-1",
  retries: 0,
});
const keys = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => `${prefix}/${relative(dir, join(e.parentPath, e.name))}`);
const encode = (key: string) =>
  key
    .split("/")
    .map((s) =>
      encodeURIComponent(s).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const res = await aws.fetch(`${endpoint}/${bucket}/${encode(key)}`, { method: "HEAD" });
      if (res.status !== 200) throw new Error(`HEAD ${key}: ${res.status}`);
    }
  }),
);
console.log(JSON.stringify({ heads: keys.length }));
