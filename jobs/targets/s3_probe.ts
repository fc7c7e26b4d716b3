/**
 * The target-wide probe: HEAD the bucket, PUT a small probe key under the prefix, DELETE it (by
 * its version on a versioned bucket, so nothing stays behind). Through any gateway: when those
 * that are up fail, the others are tried too. A failure becomes TargetUnavailableError with what
 * to check; a per-key problem the probe does not reproduce is therefore not target-wide.
 */
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { newAttemptId } from "../util/ids.ts";
import { TargetError, TargetUnavailableError } from "./errors.ts";
import type { S3Context } from "./s3.ts";
import { listAll } from "./s3_listing.ts";
import { putObject } from "./s3_put.ts";
import { joinKey, type Target } from "./target.ts";
import { bytesBody } from "./upload_body.ts";

/** The names the SDK gives errors of a response without a body (a HEAD's). */
const BODYLESS = new Set(["Unknown", "NotFound", "Forbidden", "BadRequest"]);

/** What an operator should check, by what the probe met. */
export function checkFor(err: TargetError): string {
  const code = err.storeCode ?? "";
  // No credentials found: nothing was sent, so it is no network matter.
  if (code === "CredentialsProviderError")
    return "where this process finds credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in its environment (cron's and systemd's are bare: an EnvironmentFile= in the unit), or AWS_PROFILE / AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/credentials of the user it runs as";
  if (err.status === undefined || err.kind === "transient")
    return "that the gateway(s) run and are reachable from this node (DNS, firewall, TLS), and their logs";
  if (code === "NoSuchBucket" || err.status === 404)
    return "that the bucket exists (s3://bucket in the target URL)";
  if (code === "RequestTimeTooSkewed")
    return "this node's clock (NTP): the store refuses requests signed off by 15 minutes";
  if (code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch" || code === "ExpiredToken")
    return "the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE)";
  if (err.kind === "config")
    return "that these credentials may HeadBucket, PutObject and DeleteObject under the prefix (bucket policy, user caps)";
  return "the store's response above";
}

/** Where probe keys go, under the target's prefix: tiermv's own, never a file's key. */
export const PROBE_DIR = ".tiermv-probe";

/**
 * Deletes what earlier probes left (a probe whose PUT got no answer may have stored its key
 * anyway). Probe keys are nobody's file: deleting them by key, even one another process is still
 * probing with, is harmless (that probe's DELETE then finds nothing). Best effort.
 */
async function sweepProbeKeys(s3: S3Context): Promise<void> {
  try {
    for await (const { key, versionId } of listAll(s3, joinKey(s3.prefix, `${PROBE_DIR}/`)))
      await s3.delete(key, versionId);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
  }
}

export async function probeS3(
  s3: S3Context & Pick<Target, "gateways">,
  url: string,
): Promise<void> {
  const key = joinKey(s3.prefix, `${PROBE_DIR}/${newAttemptId()}`);
  const options = { everyGateway: true };
  try {
    const head = await s3
      .call(
        { op: "HEAD the bucket", key: s3.bucket },
        (client) => client.send(new HeadBucketCommand({ Bucket: s3.bucket })),
        options,
      )
      .catch((err: unknown) => err);
    // A HEAD response has no body, so no error code: a 403 may be bad credentials or a policy,
    // a 404 a missing bucket. The PUT below answers with the code; report that one.
    if (head instanceof TargetError && !(head.status && BODYLESS.has(head.storeCode ?? "")))
      throw head;
    if (head instanceof Error && !(head instanceof TargetError)) throw head;
    await s3.fenceMode();
    const meta = { attempt: "probe", epoch: 0, size: 1, mtimeNs: "0", ino: "0" };
    // A plain single PUT, unguarded: the probe key is nobody's file.
    const stored = await putObject(s3, { key, body: bytesBody(new Uint8Array([1])), meta }, {});
    await s3.delete(key, stored.versionId);
    await sweepProbeKeys(s3);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    const down = s3.gateways().filter((g) => !g.up).length;
    const all = s3.pool.endpoints.length;
    const gateways = all > 1 ? ` (${down} of ${all} gateways down)` : "";
    throw new TargetUnavailableError(
      url,
      {
        endpoints: s3.pool.endpoints,
        bucket: s3.bucket,
        reason: `${err.message}${gateways}`,
        check: checkFor(err),
      },
      { cause: err },
    );
  }
}
