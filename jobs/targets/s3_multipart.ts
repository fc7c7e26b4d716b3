/**
 * Multipart uploads to S3: start, parts in parallel (each with Content-MD5), complete; a failure
 * aborts the upload so no orphaned parts stay billed. Also the clean-up rollback needs: abort the
 * incomplete uploads of one key that a process killed mid-upload left behind.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { mapLimit } from "../util/pool.ts";
import { type BodySource, base64 } from "./s3_body.ts";
import { s3Call, unquote } from "./s3_call.ts";
import { metaToHeaders, type ObjectMeta, TargetError, type UploadSource } from "./target.ts";

export class MultipartUploads {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly bodies: BodySource,
    private readonly parts: { partSize: number; partConcurrency: number },
  ) {}

  async put(key: string, source: UploadSource, meta: ObjectMeta, signal?: AbortSignal) {
    const uploadId = await this.start(key, meta, signal);
    try {
      const parts = await this.uploadParts(key, uploadId, source, signal);
      return await this.complete(key, uploadId, parts);
    } catch (err) {
      // Abort so no orphaned parts stay billed; the original error is what the caller needs.
      await this.abort(key, uploadId).catch(() => {});
      throw err;
    }
  }

  private async start(key: string, meta: ObjectMeta, signal?: AbortSignal): Promise<string> {
    const created = await s3Call("start multipart upload of", key, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          Metadata: metaToHeaders(meta),
        }),
        { abortSignal: signal },
      ),
    );
    if (!created.UploadId)
      throw new TargetError("permanent", {
        op: "start multipart upload of",
        key: key,
        detail: "no UploadId returned",
      });
    return created.UploadId;
  }

  /** Parts of `partSize` bytes, `partConcurrency` at a time; returns them for Complete. */
  private uploadParts(key: string, uploadId: string, source: UploadSource, signal?: AbortSignal) {
    const { partSize, partConcurrency } = this.parts;
    const numbers = Array.from({ length: Math.ceil(source.size / partSize) }, (_, i) => i + 1);
    return mapLimit(numbers, partConcurrency, async (partNumber) => {
      const offset = (partNumber - 1) * partSize;
      const range = { path: source.path, offset, size: Math.min(partSize, source.size - offset) };
      const out = await this.bodies.withBody(key, range, (body, md5, length) =>
        s3Call(`upload part ${partNumber} of`, key, () =>
          this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: body,
              ContentLength: length,
              ContentMD5: base64(md5),
            }),
            { abortSignal: signal },
          ),
        ),
      );
      return { PartNumber: partNumber, ETag: out.ETag };
    });
  }

  private async complete(key: string, uploadId: string, parts: { PartNumber: number }[]) {
    const done = await s3Call("complete multipart upload of", key, () =>
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      ),
    );
    return { etag: unquote(done.ETag) };
  }

  private abort(key: string, uploadId: string) {
    return this.client.send(
      new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
    );
  }

  /** Aborts the incomplete uploads of exactly `key`; returns how many. */
  async abortIncomplete(key: string): Promise<number> {
    const out = await s3Call("list multipart uploads of", key, () =>
      this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key })),
    );
    let aborted = 0;
    for (const upload of out.Uploads ?? []) {
      const uploadId = upload.UploadId;
      if (upload.Key !== key || !uploadId) continue;
      await s3Call("abort multipart upload of", key, () => this.abort(key, uploadId));
      aborted++;
    }
    return aborted;
  }
}
