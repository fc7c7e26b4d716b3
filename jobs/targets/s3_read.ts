/**
 * Reads of one object's bytes: whole (verify, tests), a range (restore's chunks), or the first
 * range with the object's description (restore of a small file: one request, not HEAD + GET).
 */
import { TargetError } from "./errors.ts";
import type { S3Context } from "./s3.ts";
import { markSent } from "./s3_errors.ts";
import { describe, headObject, missing } from "./s3_objects.ts";
import { type ObjectAnswer, signedReadsOf } from "./s3_signed_reads.ts";
import type { RangeOptions, StoredObject } from "./target.ts";

export async function readObject(
  s3: S3Context,
  key: string,
  versionId?: string | null,
  range?: { offset: number; length: number } & RangeOptions,
): Promise<Uint8Array | null> {
  if (range && range.length <= 0) return new Uint8Array();
  const signal = range?.signal;
  const read = {
    method: "GET",
    bucket: s3.bucket,
    key,
    versionId: versionId ?? undefined,
    range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
    // An entity tag is quoted (RFC 9110 13.1.1): s3proxy and RGW take it bare too, a strict store may not.
    ifMatch: range?.ifMatch === undefined ? undefined : `"${range.ifMatch.replaceAll('"', "")}"`,
    signal,
  } as const;
  try {
    return await s3.call(
      { op: "read", key },
      async (client) => {
        const out = await signedReadsOf(client).send(read);
        // A reset while the body streams is a transport failure too.
        if (!range) return await out.bytes().catch(sentFailure);
        // A buffer given once free: until then the body waits in the connection (TCP's flow
        // control holds the store's sending), so a read ahead costs no memory of its own.
        const into = typeof range.into === "function" ? await range.into() : range.into;
        const bytes = await bodyInto(out, range.length, into).catch(sentFailure);
        if (bytes.length > range.length && out.ContentRange === undefined)
          throw rangeIgnored(key, read.range as string, out);
        return bytes;
      },
      signal ? { signal } : {},
    );
  } catch (err) {
    if (missing(err)) return null;
    // 416: the range starts at or after the end of the object: nothing there to read.
    if (range && err instanceof TargetError && err.status === 416) return new Uint8Array();
    throw err;
  }
}

const sentFailure = (e: unknown) => Promise.reject(markSent(e));

/**
 * A ranged GET answered with more than the range and no Content-Range: a store that ignores
 * Range (RFC 9110 allows it) and sends the whole object. Said as such, naming the gateway, not
 * as an object that changed: restore would otherwise report an intact object `lost`.
 */
function rangeIgnored(key: string, range: string, out: ObjectAnswer): TargetError {
  return new TargetError("permanent", {
    op: "read",
    key,
    detail: `${out.origin} answered a GET of ${range} with more than the range and no Content-Range (HTTP ${out.status}: the whole object): it ignores Range, which restore needs to read an object in chunks (the object was not judged changed or lost). Use a store or gateway that serves ranged GETs`,
    storeCode: "RangeIgnored",
    status: out.status,
    endpoint: out.origin,
  });
}

/**
 * GET of the first `length` bytes (length > 0) with the object's description, as HEAD gives
 * it: the whole size from Content-Range (or the length of a body sent whole). Null when
 * missing; an archived object not readable yet is the store's error (403 InvalidObjectState).
 */
export async function readFirstBytes(
  s3: S3Context,
  key: string,
  versionId: string | null,
  length: number,
): Promise<{ object: StoredObject; bytes: Uint8Array } | null> {
  const read = {
    method: "GET",
    bucket: s3.bucket,
    key,
    versionId: versionId ?? undefined,
    range: `bytes=0-${length - 1}`,
  } as const;
  try {
    return await s3.call({ op: "read", key }, async (client) => {
      const out = await signedReadsOf(client).send(read);
      const bytes = await bodyInto(out, length).catch(sentFailure);
      // The whole size: from Content-Range, or for a body sent whole (a store that ignores
      // Range, whose bytes come back cut one past `length`) from its Content-Length.
      const total = /\/(\d+)$/.exec(out.ContentRange ?? "");
      const whole = total ? Number(total[1]) : (out.ContentLength ?? bytes.length);
      return { object: describe(key, out, whole), bytes };
    });
  } catch (err) {
    if (missing(err)) return null;
    // 416: an empty object (no byte 0): described by a HEAD, nothing to read.
    if (err instanceof TargetError && err.status === 416) {
      const object = await headObject(s3, key, versionId);
      return object && { object, bytes: new Uint8Array() };
    }
    throw err;
  }
}

/** Bodies up to this size are read whole and natively (ObjectAnswer.bytes), then copied once. */
const SMALL_BODY = 1024 * 1024;

/**
 * A GET's body in one buffer of shared memory (see collectInto), `into` when given. A small body
 * of a known length is read in one native step: the stream's pieces and promises cost ~20-40 µs
 * of CPU per 64 KiB body here (bench/results/2026-11-28-tier.md); a larger one, or one of
 * unknown length, streams into the buffer as it comes.
 */
export async function bodyInto(
  out: ObjectAnswer,
  length: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const size = out.ContentLength;
  if (size === undefined || !Number.isSafeInteger(size) || size > length || size > SMALL_BODY) {
    const body = out.Body;
    return body ? await collectInto(body, length, into) : new Uint8Array();
  }
  const whole = await out.bytes();
  if (whole.length > length) return whole; // longer than announced: for the caller's length check
  const target =
    into && into.length >= whole.length ? into : new Uint8Array(new SharedArrayBuffer(length));
  target.set(whole);
  return target.subarray(0, whole.length);
}

/**
 * A ranged body read straight into one buffer of the length asked for (restore's chunks; `into`
 * when the caller gives one, else a new one): no list
 * of pieces concatenated at the end, so a chunk costs its own size once. The buffer is shared
 * memory: restore hands it to a mount thread for its pwrite, and a message shares such a buffer
 * where it would copy an ordinary one (measured: the copy was a third of a large restore's
 * CPU). A body longer than asked (a store that ignores Range) is not read to its end: the
 * reading stops at the first byte past `length` (the body is cancelled) and comes back one byte
 * longer than asked, for the caller's length check.
 */
async function collectInto(
  body: ReadableStream<Uint8Array>,
  length: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const out =
    into && into.length >= length
      ? into.subarray(0, length)
      : new Uint8Array(new SharedArrayBuffer(length));
  let filled = 0;
  for await (const piece of body) {
    const room = length - filled;
    if (piece.length > room) {
      const longer = new Uint8Array(length + 1);
      longer.set(out.subarray(0, filled));
      longer.set(piece.subarray(0, room + 1), filled);
      return longer; // leaving the loop cancels the rest of the body
    }
    out.set(piece, filled);
    filled += piece.length;
    dropPiece(piece);
  }
  return out.subarray(0, filled);
}

/**
 * Frees a piece of a body once copied out: the stream hands each piece over in a buffer of its
 * own, which would otherwise wait for the collector; detaching it (transfer to a length of 0)
 * frees its memory now. Measured on 4 x 256 MiB (bench/restore_rss.ts): ~240 KiB pieces
 * waiting for the collector were 50-70 MiB of the restore's peak RSS. A piece that is a view of
 * a larger buffer is left alone: the rest of that buffer may still be someone's.
 */
function dropPiece(piece: Uint8Array): void {
  const buffer = piece.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.detached) return;
  if (piece.byteOffset === 0 && piece.byteLength === buffer.byteLength) buffer.transfer(0);
}
