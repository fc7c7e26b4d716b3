/**
 * The minimal AWS SDK client of the baselines (ceiling.ts, sdk_put_loop.ts): path-style, one
 * attempt, checksums only where required, fetch with kept-alive connections. Credentials come
 * from the environment the runner gives.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";

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
