/**
 * Where objects go: S3-compatible stores (s3.ts) and a local directory (file.ts), behind one
 * interface. Every object carries the metadata of the attempt that wrote it, which is what
 * rollback and resolution compare before deleting or committing anything. On a versioned bucket
 * every write adds a version and every state, HEAD and DELETE of the protocol names one, so a
 * late request cannot destroy a committed object (docs/protocol-v2 section 8). Errors: see
 * errors.ts (TargetError kinds, TargetUnavailableError).
 */

/** "versioned": the bucket has versioning Enabled; states then name version ids. */
export type FenceMode = "versioned" | "unversioned";

/** Metadata stored with every object (S3 user metadata; an xattr on file://). */
export interface ObjectMeta {
  attempt: string;
  /** The protocol epoch of the attempt; 0 on objects written by protocol v1, which had none. */
  epoch: number;
  size: number;
  mtimeNs: string;
  ino: string;
  /** ctime (ns) of the stat under the lock, for resolution (protocol v2); absent on v1 objects. */
  ctimeNs?: string;
  /** Set by `put` on multipart objects: restore checks bytes against a multipart ETag with it. */
  partSize?: number;
}

/** What a caller passes to `put`: `partSize` is the target's to record. */
export type UploadMeta = Omit<ObjectMeta, "partSize">;

export interface StoredObject {
  key: string;
  /** The version id on a versioned target; null on an unversioned one. */
  versionId: string | null;
  /**
   * Unquoted, always one the store gave (a response or a HEAD), never computed: a plain MD5 for
   * a single PUT; for a multipart object "<md5 of part md5s>-<parts>" on most stores, but a
   * plain MD5 on s3proxy's filesystem-nio2 backend.
   */
  etag: string;
  size: number;
  /** null when the object has no (or unreadable) tiermv metadata: written by someone else. */
  meta: ObjectMeta | null;
  /** HEAD only: the storage class the store reports (absent: STANDARD). */
  storageClass?: string;
  /** HEAD only: an archived object's restore (x-amz-restore): in progress, or readable now. */
  restore?: "ongoing" | "done";
}

/**
 * The bytes of one upload. The target reads only through this body, in chunks of its byte budget
 * (s3_body.ts): a small range is read once, hashed and sent from memory; a large one is hashed
 * first (`md5`) and then streamed in chunks, each read when the request is ready for it. Either
 * way every request carries Content-MD5 of the bytes it declares, so a store never keeps bytes
 * that differ from the digest (it answers BadDigest). The protocol passes a body backed by its
 * one descriptor; `pathBody` (upload_body.ts) reads by path for v1 callers.
 */
export interface UploadBody {
  readonly size: number;
  /** Fills `target` from `offset`; returns the bytes read (fewer only at end of file). */
  readInto(offset: number, target: Uint8Array): Promise<number>;
  /**
   * MD5 of `length` bytes from `offset` (fewer at end of file), hashed where they are read (the
   * descriptor's mount thread), so a large range is not copied into the heap to be hashed.
   * Without it the target hashes what `readInto` gives.
   */
  md5?(offset: number, length: number): Promise<Uint8Array>;
}

/** The store writes a guard sees, by their S3 names (file:// uses PutObject and DeleteObject). */
export type WriteOp =
  | "PutObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "DeleteObject";

/** The signed request about to be sent (headers lower-case; `authorization` is set on S3). */
export interface OutgoingRequest {
  method: string;
  endpoint: string;
  path: string;
  headers: Readonly<Record<string, string>>;
}

export interface WriteGuard {
  /**
   * Called for every store write (PutObject, Create/UploadPart/Complete multipart, DeleteObject;
   * never for AbortMultipartUpload, which only ever removes an attempt's own unfinished upload),
   * AFTER the request is signed and BEFORE it is sent, again for every resend (another gateway).
   * Throwing stops the request: nothing is sent, and put/delete reject with the thrown error,
   * unchanged (a put that had created a multipart upload aborts it first). Signing first bounds
   * a late arrival: a request that passed the check and was then delayed (a pause, a slow
   * network) lands at most the store's clock-skew window (15 min) after it was signed, or is
   * refused (RequestTimeTooSkewed on RGW and s3proxy, docs/ceph.md).
   */
  beforeSend(op: WriteOp, request: OutgoingRequest): Promise<void>;
  /**
   * Called once for every write that `beforeSend` let through: `answered` is true when a response
   * came back (an error status is an answer) or the request provably never reached a store (the
   * connection was refused, the name did not resolve), false when none did (a deadline, a cut
   * connection, a stop): such a write may still land later (docs/protocol-v2.md section 8, rule 3).
   */
  afterSend?(op: WriteOp, answered: boolean): void;
  /**
   * Called with the upload id after CreateMultipartUpload and before the first part is signed
   * (record it durably here, so rollback and recover can abort exactly this upload). Throwing
   * aborts the upload and rejects the put with the thrown error.
   */
  onUploadId?(uploadId: string): Promise<void>;
}

export interface PutOptions {
  signal?: AbortSignal;
  guard?: WriteGuard;
}

/** One S3 gateway as this process sees it (status, /metrics). */
export interface GatewayState {
  endpoint: string;
  up: boolean;
  /** ISO time until which it is out of rotation; null when up. */
  downUntil: string | null;
  /** The last failure that took it out (kept after it is back, for status). */
  lastError: string | null;
  lastErrorAt: string | null;
  /**
   * Periods out in a row (0 after a response that is not a fault); the backoff doubles with
   * each. Requests that fail while it is already out do not count again.
   */
  failures: number;
}

/** How `Target.readRange` reads. */
export interface RangeOptions {
  /**
   * Where the bytes go (the result is then a view of it): a buffer of at least `length` bytes,
   * so a copy reuses its chunks' memory instead of allocating per read; or a function giving
   * that buffer once it is free, called after the response's headers: the body waits in the
   * connection until then (restore's read ahead shares its file's one chunk buffer).
   */
  into?: Uint8Array | (() => Promise<Uint8Array>);
  /**
   * The ETag the object must still have (If-Match): otherwise the store refuses the read, a
   * permanent TargetError of status 412 (restore's chunks on an unversioned bucket, where a key
   * can be overwritten between two ranges; a version id pins them instead). file:// refuses
   * alike, against the ETag it recorded at upload.
   */
  ifMatch?: string;
  /** Aborts the read (a read ahead that is no longer wanted). */
  signal?: AbortSignal;
}

export interface Target {
  /** The target URL as configured, recorded in committed states. */
  readonly url: string;
  /** Known after `open()` (reading it before throws). file:// is always "unversioned". */
  readonly fence: FenceMode;
  /**
   * Probes the bucket's versioning once (GetBucketVersioning: "Enabled" is versioned; Suspended,
   * never set, or a 501/NotImplemented store is unversioned). Idempotent; a failure is not
   * remembered (the next call probes again). Other methods open the target themselves when
   * they need the fence. Throws TargetError (NoSuchBucket: config).
   */
  open(): Promise<void>;
  /** The object key of a source path relative to the root (prefix + relative path). */
  keyFor(relativePath: string): string;
  /**
   * Uploads `body` to `key` with `meta`; resolves only once the store has the whole object, with
   * its version id (versioned) and an ETag the store gave. Bodies up to `multipartThreshold` go
   * as one PutObject, larger ones multipart (parts in parallel, each with Content-MD5). With
   * `s3.unversionedFence: "multipart"`, a guarded put on an unversioned target is always
   * multipart (one part for a small file): the guard records its id (onUploadId) and checks
   * before every part and before Complete, and aborting the id fences a late Complete. The
   * default fence ("window") keeps single PUTs: every write is signed, checked, then sent.
   * A failed multipart upload is aborted (best effort). Throws TargetError, or the guard's error.
   */
  put(key: string, body: UploadBody, meta: UploadMeta, options?: PutOptions): Promise<StoredObject>;
  /** HEAD of the key (its current version) or of exactly `versionId`; null when missing. */
  head(key: string, versionId?: string | null): Promise<StoredObject | null>;
  /**
   * Every stored version of exactly `key` (not of longer keys it prefixes; delete markers
   * skipped), newest first, from a paged listing with a HEAD per version for its metadata.
   * Unversioned: the current object, if any. `except`: a version id left out (not even HEADed).
   */
  versionsOf(key: string, options?: { except?: string }): AsyncIterable<StoredObject>;
  /**
   * Versioned: deletes exactly that version (throws on null: a DELETE by key would only add a
   * delete marker). Unversioned: deletes the key (throws unless versionId is null). A missing
   * object or version is not an error. Guarded like a put.
   */
  delete(key: string, versionId: string | null, options?: { guard?: WriteGuard }): Promise<void>;
  /**
   * Aborts exactly this multipart upload (never "every incomplete upload of the key"). True when
   * aborted, false when the store does not know it (NoSuchUpload: completed or aborted before).
   */
  abortUpload(key: string, uploadId: string): Promise<boolean>;
  /**
   * Asks the store to make an archived object (GLACIER, DEEP_ARCHIVE) readable for `days`
   * (RestoreObject). False when a restore is already in progress. file:// has nothing to do.
   */
  requestRestore(key: string, versionId: string | null, days: number): Promise<boolean>;
  /** Reads an object (or exactly one version) whole (tests, verify); null when missing. */
  read(key: string, versionId?: string | null): Promise<Uint8Array | null>;
  /**
   * Reads `length` bytes from `offset` of an object (or exactly one version): fewer at its end;
   * null when missing. Restore reads in ranges so its memory stays bounded by its chunks.
   */
  readRange(
    key: string,
    versionId: string | null,
    offset: number,
    length: number,
    options?: RangeOptions,
  ): Promise<Uint8Array | null>;
  /**
   * The first `length` bytes (length > 0; fewer when the object is shorter) with the object's
   * description as `head` gives it, in one request where `head` and `readRange` take two
   * (restore of a small file). Null when missing. An archived object not readable yet is the
   * store's refusal (`archivedRefusal`).
   */
  readFirst(
    key: string,
    versionId: string | null,
    length: number,
  ): Promise<{ object: StoredObject; bytes: Uint8Array } | null>;
  /** Every object under the prefix, paged; every version of each on a versioned target. */
  list(): AsyncIterable<{ key: string; versionId: string | null }>;
  /**
   * Target-wide health: HEAD the bucket, PUT a small probe key and DELETE it (by its version on
   * a versioned bucket, so nothing stays). With several gateways it succeeds through any one.
   * Throws TargetUnavailableError naming the endpoint(s), the bucket and what to check.
   */
  probe(): Promise<void>;
  /** Each gateway's state (empty for file://), for status and /metrics. */
  gateways(): GatewayState[];
  close(): void;
}

/** Joins a prefix and a relative path into a key without doubled or leading slashes. */
export function joinKey(prefix: string, relativePath: string): string {
  const clean = prefix.replace(/^\/+|\/+$/g, "");
  return clean ? `${clean}/${relativePath}` : relativePath;
}

export { TargetError, type TargetErrorKind, TargetUnavailableError } from "./errors.ts";
