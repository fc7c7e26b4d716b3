/**
 * Uploads: one PutObject up to `multipartThreshold`, multipart above it, and multipart always
 * for a guarded put on an unversioned bucket when `s3.unversionedFence` is "multipart" (the
 * alternative fence: a revoker aborts the recorded upload id, and a Complete after an Abort
 * creates nothing on RGW or s3proxy). The default "window" fence keeps single PUTs. Every request carries Content-MD5 of exactly the bytes it sends, and runs the guard
 * after signing. The result's ETag is one the store gave: when a response has none (RGW 16.2's
 * CompleteMultipartUpload), the object is HEADed by its version id; a multipart ETag is never
 * computed from part MD5s (s3proxy's filesystem-nio2 backend answers a plain MD5 instead).
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { mapLimit } from "../util/pool.ts";
import { TargetError } from "./errors.ts";
import type { S3Context } from "./s3.ts";
import { unquote, versionOf } from "./s3_errors.ts";
import { sendGuarded } from "./s3_guard.ts";
import { metaToHeaders } from "./s3_meta.ts";
import { abortUpload } from "./s3_objects.ts";
import type { ObjectMeta, PutOptions, StoredObject, UploadBody, UploadMeta } from "./target.ts";

/** S3's longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

interface Upload {
  key: string;
  body: UploadBody;
  meta: UploadMeta;
}

export async function putObject(
  s3: S3Context,
  upload: Upload,
  options: PutOptions,
): Promise<StoredObject> {
  const { key, body } = upload;
  const keyBytes = new TextEncoder().encode(key).length;
  // S3 refuses such a key with 400 KeyTooLongError (some stores fail otherwise, s3proxy's
  // filesystem backend with a 500): refused here, for this key alone, before anything is sent.
  if (keyBytes > MAX_KEY_BYTES)
    throw new TargetError("permanent", {
      op: "upload",
      key: `${key.slice(0, 80)}...`,
      detail: `KeyTooLongError: the key is ${keyBytes} bytes; S3 allows at most ${MAX_KEY_BYTES} (shorten the path or the prefix)`,
      storeCode: "KeyTooLongError",
    });
  // Only a guarded put needs the fence before it starts (an unguarded one must not wait for
  // a versioning probe: v1 callers, the probe key).
  const fence = options.guard ? await s3.fenceMode() : s3.knownFence();
  const multipart =
    body.size > s3.settings.multipartThreshold ||
    (fence === "unversioned" &&
      options.guard !== undefined &&
      s3.settings.unversionedFence === "multipart");
  const meta: ObjectMeta = multipart
    ? { ...upload.meta, partSize: s3.settings.partSize }
    : { ...upload.meta };
  // A guarded write on an unversioned bucket goes on a fresh connection: on a reused one, Bun's
  // fetch resends a PUT cut before its answer by itself and reports the resend's answer, so the
  // first send, which may still land, would not make the epoch ambiguous (docs/protocol-v2.md
  // section 8, rule 3; model: design-hidden-resend). On a fresh one a cut is our error.
  const send: SendOptions = {
    ...options,
    fresh: fence === "unversioned" && options.guard !== undefined,
  };
  const sent = multipart
    ? await putMultipart(s3, { key, body, meta }, send)
    : await putSingle(s3, { key, body, meta }, send);
  const versionId = versionOf(sent.versionId);
  if (fence === "versioned" && !versionId)
    throw new TargetError("permanent", {
      op: "upload",
      key,
      detail: "the store stored it but named no version id, on a versioned bucket",
    });
  let etag = unquote(sent.etag);
  if (!etag) {
    // Never an ETag we did not get: ask the store for the one of exactly this object.
    const stored = await s3.head(key, versionId);
    if (!stored?.etag || stored.meta?.attempt !== meta.attempt)
      throw new TargetError("transient", {
        op: "upload",
        key,
        detail: "the store gave no ETag and a HEAD did not find this attempt's object",
      });
    etag = stored.etag;
  }
  return { key, versionId, etag, size: body.size, meta };
}

type Sent = { etag: string | undefined; versionId: string | undefined };

/** The put's options, and whether its writes go on a fresh connection. */
type SendOptions = PutOptions & { fresh: boolean };

function putSingle(s3: S3Context, upload: Upload & { meta: ObjectMeta }, options: SendOptions) {
  const { key, body, meta } = upload;
  const range = { body, offset: 0, length: body.size };
  return s3.bodies.withRange(key, range, async (data): Promise<Sent> => {
    const out = await s3.call(
      { op: "upload", key },
      (client) => {
        const command = new PutObjectCommand({
          Bucket: s3.bucket,
          Key: key,
          Body: data.open(),
          ContentLength: body.size,
          ContentMD5: data.md5,
          Metadata: metaToHeaders(meta),
          StorageClass: s3.settings.storageClass,
        });
        return sendGuarded(client, command, "PutObject", options).catch(data.rethrow);
      },
      { signal: options.signal },
    );
    return { etag: out.ETag, versionId: out.VersionId };
  });
}

async function putMultipart(
  s3: S3Context,
  upload: Upload & { meta: ObjectMeta },
  options: SendOptions,
): Promise<Sent> {
  const { key, body, meta } = upload;
  const { signal, guard } = options;
  const created = await s3.call(
    { op: "start multipart upload of", key },
    (client) => {
      const command = new CreateMultipartUploadCommand({
        Bucket: s3.bucket,
        Key: key,
        Metadata: metaToHeaders(meta),
        StorageClass: s3.settings.storageClass,
      });
      return sendGuarded(client, command, "CreateMultipartUpload", options);
    },
    { signal },
  );
  const uploadId = created.UploadId;
  if (!uploadId)
    throw new TargetError("permanent", {
      op: "start multipart upload of",
      key,
      detail: "the store returned no UploadId",
    });
  try {
    await guard?.onUploadId?.(uploadId);
    const parts = await uploadParts(s3, { key, body, uploadId }, options);
    const done = await s3.call(
      { op: "complete multipart upload of", key },
      (client) => {
        const command = new CompleteMultipartUploadCommand({
          Bucket: s3.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        });
        return sendGuarded(client, command, "CompleteMultipartUpload", options);
      },
      { signal },
    );
    return { etag: done.ETag, versionId: done.VersionId };
  } catch (err) {
    // No orphaned parts stay billed; if this abort fails too, the recorded id lets rollback do it.
    await abortUpload(s3, key, uploadId).catch(() => false);
    throw err;
  }
}

/** Parts of `partSize` bytes (at least one, empty for an empty file), `partConcurrency` at a time. */
function uploadParts(
  s3: S3Context,
  upload: { key: string; body: UploadBody; uploadId: string },
  options: SendOptions,
) {
  const { key, body, uploadId } = upload;
  const { partSize, partConcurrency } = s3.settings;
  const count = Math.max(1, Math.ceil(body.size / partSize));
  const numbers = Array.from({ length: count }, (_, i) => i + 1);
  return mapLimit(numbers, partConcurrency, async (partNumber) => {
    const offset = (partNumber - 1) * partSize;
    const range = { body, offset, length: Math.min(partSize, body.size - offset) };
    const out = await s3.bodies.withRange(key, range, (data) =>
      s3.call(
        { op: `upload part ${partNumber} of`, key },
        (client) => {
          const command = new UploadPartCommand({
            Bucket: s3.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: data.open(),
            ContentLength: range.length,
            ContentMD5: data.md5,
          });
          return sendGuarded(client, command, "UploadPart", options).catch(data.rethrow);
        },
        { signal: options.signal },
      ),
    );
    return { PartNumber: partNumber, ETag: out.ETag };
  });
}
