/**
 * An UploadBody that reads a file by path through the runtime: the adapter for protocol v1's
 * callers, which hold a path and no descriptor. Protocol v2 passes a body backed by its own
 * descriptor instead, so the bytes come from the inode it locked whatever happens to the path.
 */
import type { Runtime } from "../../runtime/types.ts";
import type { UploadBody } from "./target.ts";

export function pathBody(rt: Runtime, path: string, size: number): UploadBody {
  return {
    size,
    readInto: (offset, target) => rt.fs.readInto(path, offset, target),
    md5: (offset, length) => rt.md5Range(path, offset, length),
  };
}

/** An in-memory body (tests, the probe key). */
export function bytesBody(bytes: Uint8Array): UploadBody {
  return {
    size: bytes.length,
    async readInto(offset, target) {
      const chunk = bytes.subarray(offset, offset + target.length);
      target.set(chunk);
      return chunk.length;
    },
  };
}
