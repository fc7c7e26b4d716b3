/**
 * One S3 call: its errors become TargetErrors (a configuration problem, such as no bucket, denied
 * or bad credentials, stops the task; network errors, 5xx, 429 and 408 are transient and retried;
 * anything else will not succeed for this request), and its ETag comes back unquoted.
 */
import { TargetError, type TargetErrorKind } from "./target.ts";

const CONFIG_ERRORS = new Set([
  "NoSuchBucket",
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AllAccessDisabled",
  "InvalidBucketName",
  "PermanentRedirect",
  "CredentialsProviderError",
]);

type SdkError = { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };

/** The HTTP status of an SDK error, undefined when no response arrived. */
export function httpStatus(err: unknown): number | undefined {
  return (err as SdkError).$metadata?.httpStatusCode;
}

function errorKind(err: unknown): TargetErrorKind {
  const name = (err as SdkError).name;
  const status = httpStatus(err);
  if (name && CONFIG_ERRORS.has(name)) return "config";
  if (status === 401 || status === 403) return "config";
  if (status === undefined || status >= 500 || status === 429 || status === 408) return "transient";
  return "permanent";
}

export function toTargetError(err: unknown, op: string, key: string): TargetError {
  if (err instanceof TargetError) return err;
  const e = err as SdkError;
  const status = httpStatus(err);
  const detail = `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? String(err)}`;
  return new TargetError(errorKind(err), { op, key, detail, cause: err });
}

/** Runs one S3 call; any failure becomes a TargetError naming the operation and the key. */
export async function s3Call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toTargetError(err, op, key);
  }
}

/** An ETag as S3 sends it ("<md5>" in quotes) without the quotes. */
export function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}
