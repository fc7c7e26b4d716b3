/**
 * Writes the shape that tasks and requests share: a JSON header line, then one `{"path"}` line per
 * path, streamed in 64 KiB writes, fsynced on close. Returns the number of paths written.
 */
import type { Runtime } from "../../runtime/types.ts";

export async function writePathList(
  rt: Runtime,
  file: string,
  header: object,
  paths: Iterable<string> | AsyncIterable<string>,
): Promise<number> {
  const writer = await rt.fs.openWriter(file);
  let count = 0;
  try {
    let batch = `${JSON.stringify(header)}\n`;
    for await (const path of paths) {
      batch += `${JSON.stringify({ path })}\n`;
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
