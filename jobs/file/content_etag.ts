/**
 * The ETag a store gives an object with a file's bytes, computed from the file on its descriptor
 * (release --verify-content, restore's verify): the MD5 of the bytes for a single PUT; for a
 * multipart object ("<hex>-<parts>") the MD5 of the parts' MD5s, with the part size the upload
 * recorded in the object's metadata. s3proxy's filesystem backend gives multipart objects a plain
 * MD5: an ETag without "-<parts>" is always compared as one.
 */
import type { FileHandle, Runtime } from "../../runtime/types.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Whether `etag` can be checked against the file; the reason when it cannot. */
export function etagCheckable(etag: string, partSize: number | undefined): string | null {
  const parts = /-(\d+)$/.exec(etag);
  if (!parts) return null;
  if (!partSize) return `the multipart ETag ${etag} has no recorded part size`;
  return null;
}

/** The ETag `size` bytes of the file would have, in the shape of `etag`. */
export async function fileEtag(
  rt: Runtime,
  handle: FileHandle,
  size: number,
  etag: string,
  partSize: number | undefined,
): Promise<string> {
  const parts = /-(\d+)$/.exec(etag);
  if (!parts || !partSize) return hex(await handle.md5(0, size));
  const count = Math.max(1, Math.ceil(size / partSize));
  const digests = new Uint8Array(16 * count);
  for (let i = 0; i < count; i++) {
    const length = Math.min(partSize, size - i * partSize);
    digests.set(await handle.md5(i * partSize, length), 16 * i);
  }
  return `${hex(rt.md5(digests))}-${count}`;
}
