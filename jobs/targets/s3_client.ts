/**
 * One SDK client per gateway: path style, the fetch handler with kept-alive connections (not
 * node:http: docs/design.md section 4), the SDK's retries off (the caller and the gateway pool
 * retry), its CRC32 checksums only when configured (several stores reject them), and a marker
 * on what the HTTP handler throws (s3_errors.ts: only a request that was sent is a gateway fault).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import type { S3Settings } from "./s3.ts";
import { transportErrors } from "./s3_errors.ts";

export type Credentials = { accessKeyId: string; secretAccessKey: string };

export function createClient(
  s3: S3Settings,
  endpoint: string | undefined,
  credentials?: Credentials,
) {
  const checksums = s3.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  const client = new S3Client({
    endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    maxAttempts: 1,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    ...(credentials ? { credentials } : {}),
    // fetch, not node:http, with connections kept alive and reused (docs/design.md section 4).
    requestHandler: new FetchHttpHandler({ keepAlive: true, requestTimeout: s3.requestTimeoutMs }),
  });
  client.middlewareStack.add(transportErrors(), {
    step: "deserialize",
    priority: "low",
    name: "tiermvTransportErrors",
  });
  return client;
}
