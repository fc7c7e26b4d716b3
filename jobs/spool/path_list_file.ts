/**
 * Writes the shape that tasks and requests share: a JSON header line, then one `{"path"}` line per
 * path (a request's also carry the producer's `line` when known), streamed in 64 KiB writes,
 * fsynced on close. Returns the number of paths written.
 */
import type { Runtime } from "../../runtime/types.ts";

type PathItem = string | { path: string; line?: number };

export async function writePathList(
  rt: Runtime,
  file: string,
  header: object,
  paths: Iterable<PathItem> | AsyncIterable<PathItem>,
): Promise<number> {
  const writer = await rt.fs.openWriter(file);
  let count = 0;
  try {
    let batch = `${JSON.stringify(header)}\n`;
    for await (const item of paths) {
      batch += `${JSON.stringify(typeof item === "string" ? { path: item } : item)}\n`;
      count++;
      if (batch.length > 64 * 1024) {
        await writer.write(batch);
        batch = "";
      }
    }
    if (batch) await writer.write(batch);
  } finally {
    await writer.close();
  }
  return count;
}
