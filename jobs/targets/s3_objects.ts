/**
 * One object (or one version of it): HEAD, DELETE, RestoreObject, the abort of one multipart upload
 * (its reads are s3_read.ts).
 * Missing is null (HEAD) or not an error (DELETE); a delete marker's version is missing too.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  RestoreObjectCommand,
} from "@aws-sdk/client-s3";
import { TargetError } from "./errors.ts";
import type { S3Context } from "./s3.ts";
import { unquote, versionOf } from "./s3_errors.ts";
import { addWriteGuard } from "./s3_guard.ts";
import { metaFromHeaders } from "./s3_meta.ts";
import { type ObjectAnswer, signedReadsOf } from "./s3_signed_reads.ts";
import type { StoredObject, WriteGuard } from "./target.ts";

/** 404: no such key, version or upload; 405: that version is a delete marker (RGW, S3). */
export const missing = (err: unknown) =>
  err instanceof TargetError && (err.status === 404 || err.status === 405);

/** The headers HEAD and GET share, as the object they describe (`size`: the whole object's). */
export function describe(
  key: string,
  out: Pick<ObjectAnswer, "VersionId" | "ETag" | "Metadata" | "StorageClass" | "Restore">,
  size: number,
): StoredObject {
  const object: StoredObject = {
    key,
    versionId: versionOf(out.VersionId),
    etag: unquote(out.ETag),
    size,
    meta: metaFromHeaders(out.Metadata),
  };
  // Absent means STANDARD (s3proxy names it, RGW does not): only another class is kept.
  if (out.StorageClass && out.StorageClass !== "STANDARD") object.storageClass = out.StorageClass;
  // x-amz-restore: ongoing-request="true" while restoring; "false" (with an expiry) once done.
  if (out.Restore) object.restore = /ongoing-request="true"/.test(out.Restore) ? "ongoing" : "done";
  return object;
}

export async function headObject(
  s3: S3Context,
  key: string,
  versionId?: string | null,
): Promise<StoredObject | null> {
  const read = {
    method: "HEAD",
    bucket: s3.bucket,
    key,
    versionId: versionId ?? undefined,
  } as const;
  try {
    const out = await s3.call({ op: "read metadata of", key }, (client) =>
      signedReadsOf(client).send(read),
    );
    return describe(key, out, out.ContentLength ?? 0);
  } catch (err) {
    if (missing(err)) return null;
    throw err;
  }
}

/** DELETE of the key, or of exactly `versionId`; the caller checked the pair against the fence. */
export async function deleteObject(
  s3: S3Context,
  object: { key: string; versionId: string | null },
  guard: WriteGuard | undefined,
): Promise<void> {
  const { key, versionId } = object;
  const input = { Bucket: s3.bucket, Key: key, VersionId: versionId ?? undefined };
  await s3.call({ op: "delete", key }, (client) => {
    const command = new DeleteObjectCommand(input);
    addWriteGuard(command.middlewareStack, "DeleteObject", guard);
    return client.send(command);
  });
}

/** True when aborted; false when the store does not know the id (completed or aborted). */
export async function abortUpload(s3: S3Context, key: string, uploadId: string): Promise<boolean> {
  const input = { Bucket: s3.bucket, Key: key, UploadId: uploadId };
  return await doneUnless(404, () =>
    s3.call({ op: "abort multipart upload of", key }, (client) =>
      client.send(new AbortMultipartUploadCommand(input)),
    ),
  );
}

/** RestoreObject for `days`; false when the store says one is already in progress (409). */
export async function requestRestore(
  s3: S3Context,
  key: string,
  versionId: string | null,
  days: number,
): Promise<boolean> {
  const input = {
    Bucket: s3.bucket,
    Key: key,
    VersionId: versionId ?? undefined,
    RestoreRequest: { Days: days },
  };
  return await doneUnless(409, () =>
    s3.call({ op: "request the restore of", key }, (client) =>
      client.send(new RestoreObjectCommand(input)),
    ),
  );
}

/** True when `request` succeeds; false when the store answers `status` (said, not an error). */
async function doneUnless(status: number, request: () => Promise<unknown>): Promise<boolean> {
  try {
    await request();
    return true;
  } catch (err) {
    if (err instanceof TargetError && err.status === status) return false;
    throw err;
  }
}
