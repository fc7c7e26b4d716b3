/**
 * The client-cost baseline for W1: a loop that does nothing but read each file, take its MD5 and
 * PUT it with the AWS SDK (fetch handler, Content-MD5, keep-alive), `concurrency` in flight, as
 * tiermv does per file minus the protocol. Its CPU per file is the least a Bun + SDK client pays.
 * Usage: bun bench/sdk_put_loop.ts ENDPOINT BUCKET PREFIX DIR CONCURRENCY
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { minimalS3Client } from "./sdk_client.ts";

const [endpoint, bucket, prefix, dir, concurrency = "32"] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !dir) throw new Error("usage: ENDPOINT BUCKET PREFIX DIR N");
const client = minimalS3Client(endpoint);
const files = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath, e.name));
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < files.length) {
      const path = files[next++] as string;
      const body = readFileSync(path);
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}/${relative(dir, path)}`,
          Body: body,
          ContentLength: body.length,
          ContentMD5: createHash("md5").update(body).digest("base64"),
        }),
      );
    }
  }),
);
client.destroy();
