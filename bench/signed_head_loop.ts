/**
 * The store's HEAD rate with requests signed by the SDK's own SigV4 signer (@smithy/signature-v4,
 * the client's SHA-256) and sent with fetch, outside the SDK client's middleware stack, as
 * tiermv's own HEADs are since jobs/targets/s3_signed_reads.ts: the floor under release's
 * HEADs, beside bench/sdk_head_loop.ts (the baseline). Same keys, same concurrency,
 * kept-alive connections; a HEAD that is not 200 fails the run.
 * Usage: bun bench/signed_head_loop.ts ENDPOINT BUCKET PREFIX DIR CONCURRENCY
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { signedRequests } from "./sdk_client.ts";

const [endpoint, bucket, prefix, dir, concurrency = "32"] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !dir) throw new Error("usage: ENDPOINT BUCKET PREFIX DIR N");
const requests = signedRequests(endpoint);
const keys = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => `${prefix}/${relative(dir, join(e.parentPath, e.name))}`);
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const { url, headers } = await requests.sign("HEAD", bucket, key);
      const res = await fetch(url, { method: "HEAD", headers });
      if (res.status !== 200) throw new Error(`HEAD ${key}: ${res.status}`);
    }
  }),
);
requests.close();
console.log(JSON.stringify({ heads: keys.length }));
