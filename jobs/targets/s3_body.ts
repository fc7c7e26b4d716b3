/**
 * Request bodies for S3: a byte range of an UploadBody with its MD5 for Content-MD5 (every PUT
 * and part carries it; every S3-compatible store checks it), read through the body alone (the
 * attempt's descriptor in protocol v2, with its deadlines), within the byte budget
 * (buffer_budget.ts). Two ways, by size:
 * - a range under STREAM_MIN is read once into a budget buffer, hashed, and sent as a Blob of
 *   exactly the bytes hashed;
 * - a larger range is hashed first where it is read (UploadBody.md5, on the mount thread), then
 *   sent as a stream of CHUNK_BYTES reads, each made when fetch asks for it; the request counts
 *   STREAM_BYTES against the budget while in flight. Memory per request is about a chunk, not
 *   the range: with whole-range buffers W2 peaked at 319 MiB RSS (8 files x 4 parts in flight,
 *   each an 8 MiB buffer and its Blob copy); bench/results/2026-11-27-analysis.md. If the bytes change between the two
 *   reads, the store refuses the request (BadDigest): it never keeps bytes the digest does not
 *   describe.
 * Both are sent without a SHA-256 of the payload (a Blob or a stream is signed UNSIGNED-PAYLOAD;
 * Content-MD5 protects the bytes), except with `asBytes`.
 *
 * There is no file-backed body (a Blob of the path that the runtime's fetch reads on its own
 * threads): it read by path, not from the attempt's descriptor, and a hung mount would block
 * those threads with no deadline of ours.
 */
import type { Runtime } from "../../runtime/types.ts";
import { BufferBudget } from "./buffer_budget.ts";
import { SourceFailure, TargetError } from "./errors.ts";
import type { UploadBody } from "./target.ts";

/** Ranges from this size up are streamed. */
export const STREAM_MIN = 1 << 20;
/** Bytes per read of a streamed range. */
export const CHUNK_BYTES = 256 << 10;
/**
 * What one streamed request is counted as against the byte budget for as long as it is in
 * flight. Its real cost is its chunk, fetch's copy and the connection's buffers (measured: 1.3
 * to 2 MiB of RSS per request in flight on W2, bench/results/2026-11-27-analysis.md); the share
 * is set above that so that it bounds streams in flight to 16 by default (64 MiB / 4 MiB)
 * whatever the files and parts in flight: 32 streams peaked at 163 MiB RSS, 16 at 142.
 */
export const STREAM_BYTES = 4 << 20;

export function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

export type RequestBody = Blob | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>;

/** One range, ready to send. */
export interface RangeBody {
  /** Base64 MD5 of the range, for Content-MD5. */
  readonly md5: string;
  /** A body for one try (a resend to another gateway reads a stream's range again). */
  open(): RequestBody;
  /**
   * Rethrows what reading the source threw while a stream was sent (carried past the gateway
   * pool untouched: SourceFailure), else `err`. Call it on whatever the send threw.
   */
  rethrow(err: unknown): never;
}

type Range = { body: UploadBody; offset: number; length: number };

function shrank(key: string, range: Range, got: number): TargetError {
  return new TargetError("permanent", {
    op: "upload",
    key,
    detail: `the source shrank while it was read (${range.offset + got} of ${range.body.size} bytes there)`,
  });
}

export class BodyReader {
  private readonly budget: BufferBudget;
  private readonly asBytes: boolean;

  /**
   * `asBytes`: send the whole range as a Uint8Array (s3.checksums "when_supported": the SDK's
   * CRC32 needs bytes it can hash, and fails on a Blob or stream with "Unable to calculate hash
   * for flowing readable stream"; it then also SHA-256-signs the payload).
   */
  constructor(
    private readonly rt: Runtime,
    options: { maxBufferBytes: number; asBytes: boolean },
  ) {
    this.budget = new BufferBudget(Math.max(options.maxBufferBytes, STREAM_BYTES));
    this.asBytes = options.asBytes;
  }

  /**
   * Runs `send` with `length` bytes of `body` from `offset`. A short read (the source shrank)
   * is a permanent error of this upload; found before sending, nothing is sent.
   */
  async withRange<T>(key: string, range: Range, send: (body: RangeBody) => Promise<T>): Promise<T> {
    if (this.asBytes || range.length < STREAM_MIN) return this.buffered(key, range, send);
    return this.streamed(key, range, send);
  }

  private async buffered<T>(key: string, range: Range, send: (body: RangeBody) => Promise<T>) {
    const buffer = await this.budget.acquire(range.length);
    try {
      const got = await readFully(range, buffer);
      if (got < range.length) throw shrank(key, range, got);
      // The budget's buffers are plain ArrayBuffers (never shared). Bun copies them into the
      // Blob, so a request never reads a buffer that has gone back to the pool.
      const bytes = buffer as Uint8Array<ArrayBuffer>;
      const md5 = base64(this.rt.md5(bytes));
      // An empty body goes as bytes: Deno's fetch sends an empty Blob chunked, without the
      // Content-Length: 0 that the request was signed with (SignatureDoesNotMatch).
      const data = this.asBytes || range.length === 0 ? bytes : new Blob([bytes]);
      return await send({ md5, open: () => data, rethrow: throwAs });
    } finally {
      this.budget.release(buffer);
    }
  }

  private async streamed<T>(key: string, range: Range, send: (body: RangeBody) => Promise<T>) {
    await this.budget.reserve(STREAM_BYTES);
    const streams: RangeStream[] = [];
    try {
      const md5 = base64(await this.md5Of(key, range));
      const rethrow = (err: unknown): never => {
        const failure = streams.find((s) => s.failure !== null)?.failure;
        throw failure ? new SourceFailure(failure) : err;
      };
      const open = () => {
        const stream = new RangeStream(key, range);
        streams.push(stream);
        return stream.readable;
      };
      return await send({ md5, open, rethrow });
    } finally {
      for (const s of streams) s.cancel();
      this.budget.unreserve(STREAM_BYTES);
    }
  }

  /** The range's MD5, hashed where it is read when the body can; else from chunked reads. */
  private async md5Of(key: string, range: Range): Promise<Uint8Array> {
    if (range.body.md5) return range.body.md5(range.offset, range.length);
    const hasher = this.rt.hasher("md5");
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, range.length));
    for (let done = 0; done < range.length; ) {
      const view = chunk.subarray(0, Math.min(chunk.length, range.length - done));
      const n = await range.body.readInto(range.offset + done, view);
      if (n <= 0) throw shrank(key, range, done);
      hasher.update(view.subarray(0, n));
      done += n;
    }
    return Uint8Array.from(hasher.hex().match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  }
}

function throwAs(err: unknown): never {
  throw err;
}

async function readFully(range: Range, target: Uint8Array): Promise<number> {
  let got = 0;
  while (got < target.length) {
    const n = await range.body.readInto(range.offset + got, target.subarray(got));
    if (n <= 0) break;
    got += n;
  }
  return got;
}

/**
 * One pass over a range as a ReadableStream: a chunk is read when fetch pulls (highWaterMark 0:
 * nothing is read ahead), into a fresh buffer (fetch may hold it after the pull).
 */
class RangeStream {
  failure: unknown = null;
  readonly readable: ReadableStream<Uint8Array>;
  private done = 0;
  private stopped = false;

  constructor(key: string, range: Range) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (this.stopped) return;
          const size = Math.min(CHUNK_BYTES, range.length - this.done);
          try {
            const chunk = new Uint8Array(size);
            const n = await readFully({ ...range, offset: range.offset + this.done }, chunk);
            if (n < size) throw shrank(key, range, this.done + n);
            this.done += n;
            controller.enqueue(chunk);
            if (this.done >= range.length) controller.close();
          } catch (err) {
            this.failure = err;
            controller.error(err);
          }
        },
        cancel: () => {
          this.stopped = true;
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** The request settled: no more reads (a read in progress ends unused). */
  cancel(): void {
    this.stopped = true;
  }
}
