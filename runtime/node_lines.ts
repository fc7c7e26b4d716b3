/**
 * Streams a text file line by line on node:fs, never loading it whole: a line longer than the
 * limit throws FsError ELINETOOLONG, bytes that are not UTF-8 throw FsError EILSEQ.
 */
import * as fsp from "node:fs/promises";
import { FsError, fsError, wrap } from "./errors.ts";

const CHUNK = 64 * 1024;

export async function* readLines(path: string, maxLineBytes: number): AsyncIterable<string> {
  const handle = await wrap("open", path, () => fsp.open(path, "r"));
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const buffer = new Uint8Array(CHUNK);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (let i = 0; i < bytesRead; i++) {
        if (buffer[i] !== 10) continue;
        const piece = buffer.slice(start, i);
        pending.push(piece);
        yield decodeLine(decoder, pending, path);
        pending = [];
        pendingBytes = 0;
        start = i + 1;
      }
      if (start < bytesRead) {
        pending.push(buffer.slice(start, bytesRead));
        pendingBytes += bytesRead - start;
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
  } finally {
    await handle.close();
  }
}

function decodeLine(decoder: TextDecoder, parts: Uint8Array[], path: string): string {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    joined.set(p, offset);
    offset += p.length;
  }
  try {
    return decoder.decode(joined);
  } catch (err) {
    throw fsError(Object.assign(err as object, { code: "EILSEQ" }), "decode UTF-8 in", path);
  }
}
