/**
 * The target's errors. A TargetError is about one request; its kind says what to do next, and no
 * kind by itself says that the whole target is down (an AccessDenied or a 400 can be about one
 * key): only `Target.probe()` says that, by throwing TargetUnavailableError. The S3 table of
 * which response gets which kind is in s3_errors.ts.
 * - `transient`: may succeed if sent again (no response, 5xx, 429, 408): retry with backoff;
 *   after the configured retries it is that file's failure. Could be target-wide: ask probe().
 * - `config`: credentials, bucket or permissions (NoSuchBucket, AccessDenied, bad signature,
 *   clock skew): could be target-wide: ask probe(); if the probe passes, it is this file's.
 * - `permanent`: this request will not succeed as it is (BadDigest, a 400 for this key, a source
 *   that shrank while it was read): that file's outcome.
 */
import { TiermvError } from "../util/errors.ts";

export type TargetErrorKind = "transient" | "config" | "permanent";

export class TargetError extends TiermvError {
  readonly op: string;
  readonly key: string;
  /** The store's error code (S3 `Code`, e.g. "NoSuchBucket") or the errno, when known. */
  readonly storeCode: string | undefined;
  /** The HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** The gateway that answered (or failed to), on S3. */
  readonly endpoint: string | undefined;

  constructor(
    readonly kind: TargetErrorKind,
    failed: {
      op: string;
      key: string;
      detail: string;
      cause?: unknown;
      storeCode?: string;
      status?: number;
      endpoint?: string;
    },
  ) {
    const { op, key, detail, cause } = failed;
    super("TARGET", `Cannot ${op} "${key}": ${detail}`, { cause });
    this.op = op;
    this.key = key;
    this.storeCode = failed.storeCode;
    this.status = failed.status;
    this.endpoint = failed.endpoint;
  }
}

/**
 * The target as a whole cannot be used (thrown by `probe()` only): every gateway refused, timed
 * out or failed, or the bucket or credentials are wrong. The message names the endpoint(s), the
 * bucket (or directory) and what to check.
 */
export class TargetUnavailableError extends TiermvError {
  constructor(
    readonly target: string,
    readonly where: { endpoints: string[]; bucket?: string; reason: string; check: string },
    options?: ErrorOptions,
  ) {
    const bucket = where.bucket ? ` (bucket "${where.bucket}")` : "";
    const at = where.endpoints.length > 0 ? ` at ${where.endpoints.join(", ")}` : "";
    super(
      "TARGET_UNAVAILABLE",
      `Target ${target}${bucket} is unavailable${at}: ${where.reason}. Check ${where.check}`,
      options,
    );
  }
}

/** What a write guard threw, carried through the store client untouched (never retried). */
export class GuardRefusal extends Error {
  constructor(readonly refusal: unknown) {
    super("the write guard refused the request");
  }
}

/**
 * What reading the source threw while a request streamed it (it shrank, a mount call failed),
 * carried through the store client untouched: it is no fault of the gateway, and never retried
 * on another one.
 */
export class SourceFailure extends Error {
  constructor(readonly failure: unknown) {
    super("reading the source failed while the request was sent");
  }
}
