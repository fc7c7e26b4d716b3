/**
 * The S3 target (@aws-sdk/client-s3). Every PUT and part carries Content-MD5, which every
 * S3-compatible server checks; the SDK's own CRC32 headers are off unless configured, because
 * several servers reject them. The SDK's retries are off too: migrate owns the retry policy.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import type { Runtime } from "../../runtime/types.ts";
import type { Config } from "../context/config.ts";
import { mapLimit } from "../util/pool.ts";
import { BufferBudget } from "./buffer_budget.ts";
import {
  joinKey,
  metaFromHeaders,
  metaToHeaders,
  type ObjectInfo,
  type ObjectMeta,
  type Target,
  TargetError,
  type TargetErrorKind,
  type UploadSource,
} from "./target.ts";

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

function errorKind(err: unknown): TargetErrorKind {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name && CONFIG_ERRORS.has(e.name)) return "config";
  if (status === 401 || status === 403) return "config";
  if (status === undefined || status >= 500 || status === 429 || status === 408) return "transient";
  return "permanent";
}

function toTargetError(err: unknown, op: string, key: string): TargetError {
  if (err instanceof TargetError) return err;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const detail = `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? String(err)}`;
  return new TargetError(errorKind(err), op, key, detail, { cause: err });
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

/** Bodies from this size up are sent file-backed where the runtime can (see `withBody`). */
const FILE_BODY_MIN = 1 << 20;

const unquote = (etag: string | undefined) => (etag ?? "").replace(/^"|"$/g, "");

export function createS3Target(rt: Runtime, url: string, config: Config): Target {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match?.[1]) throw new TargetError("config", "open", url, "not an s3://bucket/prefix URL");
  const bucket = match[1];
  const prefix = match[2] ?? "";
  const s3 = config.s3;
  const budget = new BufferBudget(Math.max(s3.maxBufferBytes, s3.partSize));
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    maxAttempts: 1,
    requestChecksumCalculation:
      s3.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED",
    responseChecksumValidation:
      s3.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED",
    // fetch, not node:http: in Bun it is faster and keeps a third less memory for many small
    // PUTs (bench/results); connections are kept alive and reused.
    requestHandler: new FetchHttpHandler({ keepAlive: true, requestTimeout: s3.requestTimeoutMs }),
  });

  async function call<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTargetError(err, op, key);
    }
  }

  /**
   * Runs `send` with a body for `size` bytes of `path` from `offset`, its MD5 and its length (less
   * than `size` when the file shrank before it was read into memory). Large bodies are
   * file-backed where the runtime can send them so (never copied into the heap); the rest are
   * read into a budgeted buffer, always given back.
   */
  async function withBody<T>(
    key: string,
    path: string,
    offset: number,
    size: number,
    send: (body: Uint8Array | Blob, md5: Uint8Array, length: number) => Promise<T>,
  ): Promise<T> {
    if (rt.fileBody && size >= FILE_BODY_MIN) {
      const md5 = await rt.md5Range(path, offset, size);
      try {
        return await send(rt.fileBody(path, offset, size), md5, size);
      } catch (err) {
        throw await explainShrunk(err, key, path, offset + size);
      }
    }
    const body = await budget.acquire(size);
    try {
      const got = await rt.fs.readInto(path, offset, body);
      const sent = got === size ? body : body.subarray(0, got);
      // A file that shrank: send what is there; the verify step then sees the change.
      return await send(sent, rt.md5(sent), sent.length);
    } finally {
      budget.release(body);
    }
  }

  /**
   * A file-backed body is read while it is sent: a file that shrank or vanished since its MD5
   * makes the request fail in ways that look like other faults (a 403 for a short body). Say
   * what happened instead, so it is journalled as a failure of this file, not of the target.
   */
  async function explainShrunk(err: unknown, key: string, path: string, end: number) {
    const now = await rt.fs.stat(path).catch(() => null);
    if (now && now.size >= end) return err;
    const what = now ? `shrank to ${now.size} bytes` : "vanished";
    return new TargetError("permanent", "upload", key, `"${path}" ${what} while it was sent`, {
      cause: err,
    });
  }

  async function putSingle(
    key: string,
    source: UploadSource,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ) {
    const out = await withBody(key, source.path, 0, source.size, (body, md5, contentLength) =>
      call("upload", key, () =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: contentLength,
            ContentMD5: base64(md5),
            Metadata: metaToHeaders(meta),
          }),
          { abortSignal: signal },
        ),
      ),
    );
    return { etag: unquote(out.ETag) };
  }

  async function putMultipart(
    key: string,
    source: UploadSource,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ) {
    const created = await call("start multipart upload of", key, () =>
      client.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          Metadata: metaToHeaders(meta),
        }),
        {
          abortSignal: signal,
        },
      ),
    );
    const uploadId = created.UploadId;
    if (!uploadId)
      throw new TargetError("permanent", "start multipart upload of", key, "no UploadId returned");
    const partCount = Math.ceil(source.size / s3.partSize);
    const numbers = Array.from({ length: partCount }, (_, i) => i + 1);
    try {
      const parts = await mapLimit(numbers, s3.partConcurrency, async (partNumber) => {
        const offset = (partNumber - 1) * s3.partSize;
        const length = Math.min(s3.partSize, source.size - offset);
        const out = await withBody(key, source.path, offset, length, (body, md5, contentLength) =>
          call(`upload part ${partNumber} of`, key, () =>
            client.send(
              new UploadPartCommand({
                Bucket: bucket,
                Key: key,
                UploadId: uploadId,
                PartNumber: partNumber,
                Body: body,
                ContentLength: contentLength,
                ContentMD5: base64(md5),
              }),
              { abortSignal: signal },
            ),
          ),
        );
        return { PartNumber: partNumber, ETag: out.ETag };
      });
      const done = await call("complete multipart upload of", key, () =>
        client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
      return { etag: unquote(done.ETag) };
    } catch (err) {
      // Abort so no orphaned parts stay billed; the original error is what the caller needs.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => {});
      throw err;
    }
  }

  return {
    url,
    keyFor: (relativePath) => joinKey(prefix, relativePath),
    put(key, source, meta, signal) {
      return source.size > s3.multipartThreshold
        ? putMultipart(key, source, meta, signal)
        : putSingle(key, source, meta, signal);
    },
    async head(key): Promise<ObjectInfo | null> {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          size: out.ContentLength ?? 0,
          etag: unquote(out.ETag),
          meta: metaFromHeaders(out.Metadata),
        };
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        if (status === 404) return null;
        throw toTargetError(err, "read metadata of", key);
      }
    },
    async delete(key) {
      await call("delete", key, () =>
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
      );
    },
    async abortIncompleteUploads(key) {
      const out = await call("list multipart uploads of", key, () =>
        client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key })),
      );
      let aborted = 0;
      for (const upload of out.Uploads ?? []) {
        if (upload.Key !== key || !upload.UploadId) continue;
        const uploadId = upload.UploadId;
        await call("abort multipart upload of", key, () =>
          client.send(
            new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
          ),
        );
        aborted++;
      }
      return aborted;
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (err) {
        if ((err as { name?: string }).name === "NoSuchKey") return null;
        throw toTargetError(err, "read", key);
      }
    },
    async *list() {
      let token: string | undefined;
      do {
        const out = await call("list", prefix, () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix || undefined,
              ContinuationToken: token,
            }),
          ),
        );
        for (const item of out.Contents ?? []) if (item.Key) yield item.Key;
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    },
    close: () => client.destroy(),
  };
}
