/**
 * The S3 target's signed HEAD and GET (jobs/targets/s3_signed_reads.ts: the SDK's signer outside
 * the client, and fetch) under Deno, for test/deno/deno.test.ts: prints what head, readRange and readFirst give.
 * Usage: deno run --allow-all test/deno/s3_reads.deno.ts ENDPOINT BUCKET KEY
 * (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)
 */
import { parseConfig } from "../../jobs/context/config.ts";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { createRuntime } from "../../runtime/deno.ts";

const [endpoint = "", bucket = "", key = ""] = process.argv.slice(2);
const url = `s3://${bucket}/t`;
const config = parseConfig(
  {
    spool: "/nonexistent/spool",
    root: "/nonexistent/root",
    target: url,
    nodes: ["deno"],
    s3: { endpoint },
  },
  "inline",
);
const target = createS3Target(createRuntime(), url, config);
const head = await target.head(key);
const range = await target.readRange(key, null, 2, 5, { ifMatch: head?.etag });
const first = await target.readFirst(key, null, 4);
const missing = await target.head(`${key}-missing`);
console.log(
  JSON.stringify({
    head,
    range: new TextDecoder().decode(range ?? new Uint8Array()),
    first: { object: first?.object, bytes: new TextDecoder().decode(first?.bytes) },
    missing,
  }),
);
target.close();
