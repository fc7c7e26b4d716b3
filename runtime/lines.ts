/**
 * Splits a stream of chunks into text lines, never holding more than one line: a line longer than
 * the limit throws FsError ELINETOOLONG, bytes that are not UTF-8 throw FsError EILSEQ.
 */
import { FsError, fsError } from "./errors.ts";

export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  path: string,
  maxLineBytes: number,
): AsyncIterable<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 10) continue;
      pending.push(chunk.subarray(start, i));
      yield decodeLine(decoder, pending, path);
      pending = [];
      pendingBytes = 0;
      start = i + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) {
        throw new FsError(
          "ELINETOOLONG",
          `read a line of at most ${maxLineBytes} bytes from`,
          path,
        );
      }
    }
  }
  if (pendingBytes > 0) yield decodeLine(decoder, pending, path);
}

function decodeLine(decoder: TextDecoder, parts: Uint8Array[], path: string): string {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = parts.length === 1 && parts[0] ? parts[0] : new Uint8Array(total);
  if (joined !== parts[0]) {
    let offset = 0;
    for (const p of parts) {
      joined.set(p, offset);
      offset += p.length;
    }
  }
  try {
    return decoder.decode(joined);
  } catch (err) {
    throw fsError(Object.assign(err as object, { code: "EILSEQ" }), "decode UTF-8 in", path);
  }
}
