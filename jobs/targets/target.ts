/**
 * Where objects go. Two implementations: S3 (s3.ts) and a local directory
 * (file.ts). Every object carries the metadata of the attempt that wrote it, which is
 * what rollback and stale-lock resolution compare before deleting or committing anything.
 */
import { TiermvError } from "../util/errors.ts";

/** Metadata stored with every object. */
export interface ObjectMeta {
  attempt: string;
  size: number;
  mtimeNs: string;
  ino: string;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  /** null when the object has no (or unreadable) tiermv metadata: written by someone else. */
  meta: ObjectMeta | null;
}

export interface UploadSource {
  path: string;
  size: number;
}

export interface Target {
  /** The target URL as configured, recorded in committed states. */
  readonly url: string;
  /** The object key of a source path relative to the root (prefix + relative path). */
  keyFor(relativePath: string): string;
  /** Uploads `source` to `key`; throws TargetError. A failed multipart upload is aborted. */
  put(
    key: string,
    source: UploadSource,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ): Promise<{ etag: string }>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Deletes the object; a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Aborts multipart uploads of exactly `key` that never completed (a process killed mid-upload
   * leaves them; they are billed and invisible). Only safe while holding the file's lock.
   * Returns how many were aborted.
   */
  abortIncompleteUploads(key: string): Promise<number>;
  /** Reads an object whole (tests and verify). */
  get(key: string): Promise<Uint8Array | null>;
  /** Lists keys under the target prefix (verify, tests). */
  list(): AsyncIterable<string>;
  close(): void;
}

export type TargetErrorKind = "transient" | "config" | "permanent";

/**
 * A target operation failed. `transient`: network, 5xx, throttling (retry with backoff);
 * `config`: no bucket, access denied (stop the task); `permanent`: this request will not succeed.
 */
export class TargetError extends TiermvError {
  constructor(
    readonly kind: TargetErrorKind,
    failed: { op: string; key: string; detail: string; cause?: unknown },
  ) {
    const { op, key, detail, cause } = failed;
    super("TARGET", `Cannot ${op} "${key}": ${detail}`, { cause });
  }
}

export function metaToHeaders(meta: ObjectMeta): Record<string, string> {
  return {
    attempt: meta.attempt,
    size: String(meta.size),
    "mtime-ns": meta.mtimeNs,
    ino: meta.ino,
  };
}

export function metaFromHeaders(headers: Record<string, string> | undefined): ObjectMeta | null {
  if (!headers?.attempt || headers.size === undefined || !headers["mtime-ns"] || !headers.ino)
    return null;
  const size = Number(headers.size);
  if (!Number.isSafeInteger(size)) return null;
  return { attempt: headers.attempt, size, mtimeNs: headers["mtime-ns"], ino: headers.ino };
}

/** Joins a prefix and a relative path into a key without doubled or leading slashes. */
export function joinKey(prefix: string, relativePath: string): string {
  const clean = prefix.replace(/^\/+|\/+$/g, "");
  return clean ? `${clean}/${relativePath}` : relativePath;
}
