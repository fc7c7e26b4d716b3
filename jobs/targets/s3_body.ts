/**
 * Request bodies for S3: a byte range of an UploadBody read into a buffer of the byte budget
 * (buffer_budget.ts), hashed for Content-MD5 (every PUT and part carries it; every
 * S3-compatible store checks it), and sent as a Blob, exactly the bytes hashed. A Blob, not the
 * Uint8Array: the SDK SHA-256-hashes a Uint8Array payload for its signature (a second pass over
 * every byte on the event loop) and sends a Blob as UNSIGNED-PAYLOAD; Content-MD5 already
 * protects the bytes. Bun copies the bytes into the Blob, so a request never reads a buffer that
 * has gone back to the pool.
 *
 * There is no file-backed body any more (it was `rt.fileBody(path)`, a Blob that Bun's fetch
 * read while sending): it read by path, not from the attempt's descriptor, so the bytes could
 * come from another inode than the one locked; and Bun read it on its own threads, where a hung
 * mount blocks them with no deadline of ours. Reading through UploadBody keeps every read of
 * the source in the caller's hands (its descriptor, its deadlines).
 */
import type { Runtime } from "../../runtime/types.ts";
import { BufferBudget } from "./buffer_budget.ts";
import { TargetError } from "./errors.ts";
import type { UploadBody } from "./target.ts";

export function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

export class BodyReader {
  private readonly budget: BufferBudget;

  /**
   * `asBytes`: send the Uint8Array itself (s3.checksums "when_supported": the SDK's CRC32 needs
   * bytes it can hash, and fails on a Blob with "Unable to calculate hash for flowing readable
   * stream"; it then also SHA-256-signs the payload).
   */
  constructor(
    private readonly rt: Runtime,
    options: { maxBufferBytes: number; asBytes: boolean },
  ) {
    this.budget = new BufferBudget(options.maxBufferBytes);
    this.asBytes = options.asBytes;
  }

  private readonly asBytes: boolean;

  /**
   * Runs `send` with `length` bytes of `body` from `offset` (a Blob) and their MD5 (base64).
   * A short read (the source shrank) is a permanent error of this upload: nothing is sent.
   * The budget is held until `send` settles.
   */
  async withRange<T>(
    key: string,
    range: { body: UploadBody; offset: number; length: number },
    send: (body: Blob | Uint8Array, md5: string) => Promise<T>,
  ): Promise<T> {
    const { body, offset, length } = range;
    const buffer = await this.budget.acquire(length);
    try {
      let got = 0;
      while (got < length) {
        const n = await body.readInto(offset + got, buffer.subarray(got));
        if (n <= 0) break;
        got += n;
      }
      if (got < length)
        throw new TargetError("permanent", {
          op: "upload",
          key,
          detail: `the source shrank while it was read (${offset + got} of ${body.size} bytes there)`,
        });
      // The budget's buffers are plain ArrayBuffers (never shared).
      const bytes = buffer as Uint8Array<ArrayBuffer>;
      const md5 = base64(this.rt.md5(bytes));
      // An empty body goes as bytes: Deno's fetch sends an empty Blob chunked, without the
      // Content-Length: 0 that the request was signed with (SignatureDoesNotMatch).
      const asBytes = this.asBytes || length === 0;
      return await send(asBytes ? bytes : new Blob([bytes]), md5);
    } finally {
      this.budget.release(buffer);
    }
  }
}
