/**
 * S3 responses as TargetErrors. The table (kinds are defined in errors.ts; "gateway fault"
 * means the gateway pool takes that gateway out for a backoff period and sends the request to
 * another one, see s3_gateways.ts):
 *
 * | response                                                         | kind      | gateway fault |
 * |------------------------------------------------------------------|-----------|---------------|
 * | none, sent: refused, reset, DNS, request timeout                  | transient | yes           |
 * | none, never sent (the SDK failed before the handler: a bug, or a  | permanent | no            |
 * |   checksum it cannot compute)                                    |           |               |
 * | 500, 502, 503 (SlowDown too: one rule), 504, other 5xx but 501    | transient | yes           |
 * | 429 (throttling: the same rule as 503), 408                      | transient | yes           |
 * | NoSuchBucket, InvalidBucketName, PermanentRedirect               | config    | no            |
 * | 401, 403: AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,|           |               |
 * |   RequestTimeTooSkewed, ExpiredToken, AuthorizationHeaderMalformed| config    | no            |
 * | CredentialsProviderError (no credentials at all)                 | config    | no            |
 * | anything else: 400 (KeyTooLongError, InvalidArgument), BadDigest, |           |               |
 * |   404 NoSuchKey/NoSuchUpload, 412, 501 NotImplemented            | permanent | no            |
 *
 * `config` never means "the target is down" by itself: an AccessDenied can be a bucket policy on
 * one prefix, a 400 one over-long key. Whoever sees `config` or `transient` asks `probe()`, and
 * only its TargetUnavailableError stops the tick. RGW answers a Complete after an Abort with 500
 * InternalError (s3proxy: 404): transient by this table, and harmless, since no object results.
 */
import type { DeserializeMiddleware } from "@smithy/types";
import { TargetError, type TargetErrorKind } from "./errors.ts";

const SENT = Symbol("tiermv.sent");

/**
 * Marks what the HTTP handler throws (the request was handed to the network: refused, reset,
 * DNS, timeout) apart from what the SDK throws before sending. Added to every client at the
 * innermost place (step deserialize, priority low), so it wraps the handler alone.
 */
export function transportErrors<I extends object, O extends object>(): DeserializeMiddleware<I, O> {
  return (next) => async (args) => {
    try {
      return await next(args);
    } catch (err) {
      throw markSent(err);
    }
  };
}

/** Marks an error as a failure of a request that was sent (also a reset while reading a body). */
export function markSent(err: unknown): unknown {
  if (err !== null && typeof err === "object") Object.assign(err, { [SENT]: true });
  return err;
}

function wasSent(err: unknown): boolean {
  return err !== null && typeof err === "object" && SENT in err;
}

const CONFIG_ERRORS = new Set([
  "NoSuchBucket",
  // No usable endpoint for the bucket (s3_signed_reads.ts): the target's settings.
  "InvalidEndpoint",
  "InvalidBucketName",
  "PermanentRedirect",
  "AccessDenied",
  "AllAccessDisabled",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "RequestTimeTooSkewed",
  "ExpiredToken",
  "AuthorizationHeaderMalformed",
  "CredentialsProviderError",
]);

type SdkError = {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
};

/** Connection errors that prove the request never reached the store (refused, name unknown). */
const NEVER_DELIVERED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ConnectionRefused"]);

/**
 * True when a failed request cannot land later: the connection was refused or the gateway's name
 * did not resolve, so no byte of it reached any store (the write guard counts it as answered).
 */
export function neverDelivered(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  const cause = (err as { cause?: { code?: unknown } }).cause?.code;
  return NEVER_DELIVERED.has(String(code)) || NEVER_DELIVERED.has(String(cause));
}

/** The HTTP status of an SDK error, undefined when no response arrived. */
export function httpStatus(err: unknown): number | undefined {
  return (err as SdkError).$metadata?.httpStatusCode;
}

/** What the gateway pool fails over: every transient error (sent without a response, 5xx but
 * 501, 429, 408). */
export function isGatewayFault(err: unknown): boolean {
  return errorKind(err) === "transient";
}

export function errorKind(err: unknown): TargetErrorKind {
  const name = (err as SdkError).name;
  const status = httpStatus(err);
  if (name && CONFIG_ERRORS.has(name)) return "config";
  if (status === 401 || status === 403) return "config";
  if (status === undefined) return wasSent(err) ? "transient" : "permanent";
  if (status === 501) return "permanent";
  if (status >= 500 || status === 429 || status === 408) return "transient";
  return "permanent";
}

/** An SDK error (or anything thrown while sending) as a TargetError naming op, key and gateway. */
export function toTargetError(
  err: unknown,
  what: { op: string; key: string; endpoint?: string },
): TargetError {
  if (err instanceof TargetError) return err;
  const e = err as SdkError;
  const status = httpStatus(err);
  const via = what.endpoint ? ` via ${what.endpoint}` : "";
  const detail = `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}${via}: ${e.message ?? String(err)}`;
  return new TargetError(errorKind(err), {
    ...what,
    detail,
    cause: err,
    storeCode: e.Code ?? e.name,
    status,
  });
}

/** An ETag as S3 sends it ("<md5>" in quotes) without the quotes; "" when there is none. */
export function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

/** A version id as the protocol keeps it: null for none, and for "null" (an object written while
 * versioning was never enabled or suspended: it is the key's only unversioned object). */
export function versionOf(versionId: string | undefined): string | null {
  return versionId && versionId !== "null" ? versionId : null;
}
