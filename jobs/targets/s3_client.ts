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
import { addSignedReads } from "./s3_signed_reads.ts";

export type Credentials = { accessKeyId: string; secretAccessKey: string };

/**
 * The fetch handler with a deadline that ABORTS the request (`s3.requestTimeoutMs`): the SDK's
 * own `requestTimeout` only stops waiting and leaves the fetch (and its connection, its body
 * upload) running, so a write could keep streaming and land long after its sender gave up;
 * the late-write window (docs/protocol-v2.md section 8) counts on the deadline closing the
 * connection, and a hung request must not keep the process alive.
 */
class DeadlineFetchHandler extends FetchHttpHandler {
  /** For requests marked by sendOnFreshConnection: a new connection, closed after the answer. */
  private readonly fresh = new FetchHttpHandler({
    keepAlive: false,
    // Bun reads `keepalive` from fetch's own options only, not from the Request.
    customFetch: Object.assign(
      (request: RequestInfo | URL) => fetch(request, { keepalive: false }),
      { preconnect: fetch.preconnect },
    ),
  });

  constructor(private readonly deadlineMs: number) {
    super({ keepAlive: true });
  }

  override handle(...[request, options = {}]: Parameters<FetchHttpHandler["handle"]>) {
    const deadline = AbortSignal.timeout(this.deadlineMs);
    const caller = options.abortSignal as AbortSignal | undefined;
    const abortSignal = caller ? AbortSignal.any([caller, deadline]) : deadline;
    const sent = FRESH.has(request)
      ? this.fresh.handle(request, { ...options, abortSignal })
      : super.handle(request, { ...options, abortSignal });
    return sent.catch((err: unknown) => {
      if (!deadline.aborted || caller?.aborted) throw err;
      const timeout = new Error(`Request did not complete within ${this.deadlineMs} ms`);
      throw Object.assign(timeout, { name: "TimeoutError", cause: err });
    });
  }
}

/**
 * Requests to send on a new connection. On a reused keep-alive connection cut before the answer,
 * Bun's fetch resends an idempotent request (a PUT) by itself and answers with the resend's
 * reply (oven-sh/bun#28708 keeps it for PUT and DELETE): the caller never learns that a first
 * send went out and may still land. On a new connection Bun does not resend: a cut is an error.
 */
const FRESH = new WeakSet<object>();

export function sendOnFreshConnection(request: unknown): void {
  if (typeof request === "object" && request !== null) FRESH.add(request);
}

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
    // Set, so AWS_RETRY_MODE is not read: "adaptive" would add the SDK's client-side rate limit.
    retryMode: "standard",
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    ...(credentials ? { credentials } : {}),
    // fetch, not node:http, with connections kept alive and reused (docs/design.md section 4).
    requestHandler: new DeadlineFetchHandler(s3.requestTimeoutMs),
  });
  client.middlewareStack.add(transportErrors(), {
    step: "deserialize",
    priority: "low",
    name: "tiermvTransportErrors",
  });
  addSignedReads(client, s3);
  return client;
}
