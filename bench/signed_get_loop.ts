/**
 * A plain download loop in restore's runtime (Bun), no protocol: each object GET (signed by the SDK's own SigV4 signer, as
 * tiermv's reads are, jobs/targets/s3_signed_reads.ts), its body streamed into a new local file,
 * nothing else: no flock, xattrs, fstat fences, read-back or decision. With `--fsync`, each file
 * is also fsynced before it is closed, the durability restore gives before its decision. Same
 * keys and concurrency as bench/signed_head_loop.ts; a GET that is not 200 fails the run.
 * bench/tier.ts runs it beside restore and the peers, to tell the runtime's cost from the
 * protocol's. Not a floor: it writes through node:fs/promises (a hand-off to Bun's thread pool
 * per call), where restore writes through its mount threads; on small files it spent more CPU
 * than restore in three runs and less in a fourth (2026-11-28 results, "Night").
 * Usage: bun bench/signed_get_loop.ts ENDPOINT BUCKET PREFIX DIR CONCURRENCY DEST [--fsync]
 */
import { mkdirSync, readdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { signedRequests } from "./sdk_client.ts";

const [endpoint, bucket, prefix, dir, concurrency = "32", dest] = process.argv.slice(2);
if (!endpoint || !bucket || !prefix || !dir || !dest)
  throw new Error("usage: ENDPOINT BUCKET PREFIX DIR N DEST [--fsync]");
const fsync = process.argv.includes("--fsync");
const requests = signedRequests(endpoint);
const names = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => relative(dir, join(e.parentPath, e.name)));
for (const d of new Set(names.map((n) => dirname(join(dest, n)))))
  mkdirSync(d, { recursive: true });
let next = 0;
let bytes = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < names.length) {
      const name = names[next++] as string;
      const key = `${prefix}/${name}`;
      const { url, headers } = await requests.sign("GET", bucket, key);
      const res = await fetch(url, { headers });
      if (res.status !== 200 || !res.body) throw new Error(`GET ${key}: ${res.status}`);
      const file = await open(join(dest, name), "w");
      try {
        // A small body read whole and written once (as tiermv reads bodies up to 1 MiB,
        // jobs/targets/s3_read.ts); a larger one streamed piece by piece.
        const length = Number(res.headers.get("content-length") ?? Number.NaN);
        const pieces = length <= 1024 * 1024 ? [await res.bytes()] : res.body;
        for await (const piece of pieces) {
          // Awaited before the sum: `bytes += await ...` reads `bytes` before the await, and
          // the other loops' sums in between are lost.
          const { bytesWritten } = await file.write(piece);
          bytes += bytesWritten;
        }
        if (fsync) await file.sync();
      } finally {
        await file.close();
      }
    }
  }),
);
requests.close();
console.log(JSON.stringify({ gets: names.length, bytes, fsync }));
