/**
 * The store's HEAD rate with requests signed by the SDK's own SigV4 signer (@smithy/signature-v4,
 * the client's SHA-256) and sent with fetch, outside the SDK client's middleware stack, as
 * tiermv's own HEADs are since jobs/targets/s3_signed_reads.ts: the floor under release's
 * HEADs, beside bench/sdk_head_loop.ts (the issue's baseline). Same keys, same concurrency,
 * kept-alive connections; a HEAD that is not 200 fails the run.
 * Usage: bun bench/signed_head_loop.ts ENDPOINT BUCKET PREFIX DIR CONCURRENCY
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { minimalS3Client } from "./sdk_client.ts";

const [endpoint, bucket, prefix, dir, concurrency = "32"] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !dir) throw new Error("usage: ENDPOINT BUCKET PREFIX DIR N");
const client = minimalS3Client(endpoint);
const signer = new SignatureV4({
  credentials: client.config.credentials,
  region: "us-east-1",
  service: "s3",
  sha256: client.config.sha256,
  uriEscapePath: false,
  applyChecksum: false,
});
const keys = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => `${prefix}/${relative(dir, join(e.parentPath, e.name))}`);
const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const base = new URL(endpoint);
/** The SHA-256 of an empty body, signed as the payload (as tiermv and the SDK do). */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const path = `/${bucket}/${key.split("/").map(escapeUri).join("/")}`;
      const signed = await signer.sign({
        method: "HEAD",
        protocol: base.protocol,
        hostname: base.hostname,
        port: Number(base.port),
        path,
        query: {},
        headers: { host: base.host, "x-amz-content-sha256": EMPTY_SHA256 },
      });
      const { host: _, ...headers } = signed.headers;
      const res = await fetch(`${base.origin}${path}`, { method: "HEAD", headers });
      if (res.status !== 200) throw new Error(`HEAD ${key}: ${res.status}`);
    }
  }),
);
client.destroy();
console.log(JSON.stringify({ heads: keys.length }));
