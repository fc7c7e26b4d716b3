/**
 * The store's HEAD rate as a bare client sees it, for release's goal (issue 2.6: release at 80%
 * of it or more; release is one HEAD and a few metadata calls per file): a HeadObject per file
 * of DIR (keys as tiermv names them: PREFIX/<path under DIR>), `concurrency` in flight, the AWS
 * SDK with the client settings of bench/sdk_put_loop.ts. Nothing else: no file is opened.
 * Usage: bun bench/sdk_head_loop.ts ENDPOINT BUCKET PREFIX DIR CONCURRENCY
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { minimalS3Client } from "./sdk_client.ts";

const [endpoint, bucket, prefix, dir, concurrency = "32"] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !dir) throw new Error("usage: ENDPOINT BUCKET PREFIX DIR N");
const client = minimalS3Client(endpoint);
const keys = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => `${prefix}/${relative(dir, join(e.parentPath, e.name))}`);
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    }
  }),
);
client.destroy();
console.log(JSON.stringify({ heads: keys.length }));
