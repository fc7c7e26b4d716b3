/**
 * The minimal AWS SDK client of the baselines (ceiling.ts, sdk_put_loop.ts): path-style, one
 * attempt, checksums only where required, fetch with kept-alive connections. Credentials come
 * from the environment the runner gives.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { SignatureV4 } from "@smithy/signature-v4";

export function minimalS3Client(endpoint: string | undefined): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new FetchHttpHandler({ keepAlive: true }),
  });
}

/** The SHA-256 of an empty body, signed as the payload (as tiermv and the SDK do). */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/**
 * Requests signed by the SDK's own SigV4 signer (@smithy/signature-v4, the client's SHA-256)
 * outside its client's middleware stack, as tiermv's own reads are
 * (jobs/targets/s3_signed_reads.ts): the bare loops' (signed_head_loop.ts, signed_get_loop.ts).
 */
export function signedRequests(endpoint: string) {
  const client = minimalS3Client(endpoint);
  const signer = new SignatureV4({
    credentials: client.config.credentials,
    region: "us-east-1",
    service: "s3",
    sha256: client.config.sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const base = new URL(endpoint);
  return {
    /** The URL and headers of a signed bodiless request for `bucket/key`. */
    async sign(method: "GET" | "HEAD", bucket: string, key: string) {
      const path = `/${bucket}/${key.split("/").map(escapeUri).join("/")}`;
      const signed = await signer.sign({
        method,
        protocol: base.protocol,
        hostname: base.hostname,
        port: Number(base.port),
        path,
        query: {},
        headers: { host: base.host, "x-amz-content-sha256": EMPTY_SHA256 },
      });
      const { host: _, ...headers } = signed.headers;
      return { url: `${base.origin}${path}`, headers };
    },
    close: () => client.destroy(),
  };
}
