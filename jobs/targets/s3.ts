/**
 * The S3 target (@aws-sdk/client-s3), one method per S3 operation. Every PUT and part carries
 * Content-MD5, which every S3-compatible server checks; the SDK's own CRC32 headers are off unless
 * configured, because several servers reject them. The SDK's retries are off too: migrate owns
 * the retry policy. A failed multipart upload is aborted.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import type { Runtime } from "../../runtime/types.ts";
import type { Config } from "../context/config.ts";
import { BodySource, base64 } from "./s3_body.ts";
import { httpStatus, s3Call, toTargetError, unquote } from "./s3_call.ts";
import { MultipartUploads } from "./s3_multipart.ts";
import {
  joinKey,
  metaFromHeaders,
  metaToHeaders,
  type ObjectInfo,
  type ObjectMeta,
  type Target,
  TargetError,
  type UploadSource,
} from "./target.ts";

type S3Settings = Config["s3"];

export function createS3Target(rt: Runtime, url: string, config: Config): Target {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match?.[1])
    throw new TargetError("config", {
      op: "open",
      key: url,
      detail: "not an s3://bucket/prefix URL",
    });
  return new S3Target(rt, { url, bucket: match[1], prefix: match[2] ?? "", s3: config.s3 });
}

function createClient(s3: S3Settings): S3Client {
  const checksums = s3.checksums === "when_supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    maxAttempts: 1,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    // fetch, not node:http, with connections kept alive and reused (docs/design.md section 4).
    requestHandler: new FetchHttpHandler({ keepAlive: true, requestTimeout: s3.requestTimeoutMs }),
  });
}

class S3Target implements Target {
  readonly url: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly s3: S3Settings;
  private readonly client: S3Client;
  private readonly bodies: BodySource;
  private readonly multipart: MultipartUploads;

  constructor(rt: Runtime, where: { url: string; bucket: string; prefix: string; s3: S3Settings }) {
    this.url = where.url;
    this.bucket = where.bucket;
    this.prefix = where.prefix;
    this.s3 = where.s3;
    this.client = createClient(this.s3);
    this.bodies = new BodySource(rt, Math.max(this.s3.maxBufferBytes, this.s3.partSize));
    this.multipart = new MultipartUploads(this.client, this.bucket, this.bodies, this.s3);
  }

  keyFor(relativePath: string): string {
    return joinKey(this.prefix, relativePath);
  }

  put(key: string, source: UploadSource, meta: ObjectMeta, signal?: AbortSignal) {
    return source.size > this.s3.multipartThreshold
      ? this.multipart.put(key, source, meta, signal)
      : this.putSingle(key, source, meta, signal);
  }

  private async putSingle(
    key: string,
    source: UploadSource,
    meta: ObjectMeta,
    signal?: AbortSignal,
  ) {
    const range = { path: source.path, offset: 0, size: source.size };
    const out = await this.bodies.withBody(key, range, (body, md5, length) =>
      s3Call("upload", key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentLength: length,
            ContentMD5: base64(md5),
            Metadata: metaToHeaders(meta),
          }),
          { abortSignal: signal },
        ),
      ),
    );
    return { etag: unquote(out.ETag) };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const meta = metaFromHeaders(out.Metadata);
      return { size: out.ContentLength ?? 0, etag: unquote(out.ETag), meta };
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw toTargetError(err, "read metadata of", key);
    }
  }

  async delete(key: string): Promise<void> {
    await s3Call("delete", key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
    );
  }

  /** Only safe while holding the file's lock (see Target). */
  abortIncompleteUploads(key: string): Promise<number> {
    return this.multipart.abortIncomplete(key);
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return null;
      throw toTargetError(err, "read", key);
    }
  }

  async *list(): AsyncIterable<string> {
    const { bucket, prefix } = this;
    let token: string | undefined;
    do {
      const out = await s3Call("list", prefix, () =>
        this.client.send(
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
  }

  close(): void {
    this.client.destroy();
  }
}
