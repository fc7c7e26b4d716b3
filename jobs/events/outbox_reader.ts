/**
 * Reading a node's outbox as it grows (`tiermv events --follow`): a byte offset per segment, so
 * each round reads only what was appended since the last one, and only complete lines (a line
 * being appended is printed once, when its newline is there). A segment that disappears (shipped
 * and deleted by report, or pruned), even in the middle of a read, is forgotten, not an error.
 * Read-only.
 */
import { isNotFound } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { listSegments } from "./outbox.ts";

export interface OutboxReader {
  dirs: NodeDirs;
  /** Bytes of each segment already returned (always up to the end of a line). */
  offsets: Map<string, number>;
}

/** First read size; doubled for a line longer than what was read. */
const CHUNK = 1 << 20;
const NEWLINE = 10;

/** The complete lines appended to the outbox since the last call, in segment order. */
export async function readNewEvents(rt: Runtime, reader: OutboxReader): Promise<string[]> {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const { name } of await listSegments(rt, reader.dirs)) {
    seen.add(name);
    try {
      lines.push(...(await readSegment(rt, reader, name)));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      reader.offsets.delete(name); // gone while it was read
    }
  }
  for (const name of reader.offsets.keys()) if (!seen.has(name)) reader.offsets.delete(name);
  return lines;
}

async function readSegment(rt: Runtime, reader: OutboxReader, name: string): Promise<string[]> {
  const path = `${reader.dirs.outbox}/${name}`;
  const size = (await rt.fs.stat(path)).size;
  let offset = reader.offsets.get(name) ?? 0;
  const lines: string[] = [];
  let chunk = CHUNK;
  while (offset < size) {
    const bytes = await rt.fs.readRange(path, offset, Math.min(chunk, size - offset));
    const end = bytes.lastIndexOf(NEWLINE);
    if (end < 0) {
      // No complete line yet: a line being appended, or one longer than what was read.
      if (offset + bytes.length >= size) break;
      chunk *= 2;
      continue;
    }
    const text = new TextDecoder().decode(bytes.subarray(0, end));
    for (const line of text.split("\n")) if (line) lines.push(line);
    offset += end + 1;
    chunk = CHUNK;
  }
  reader.offsets.set(name, offset);
  return lines;
}
