/** Hashes on node:crypto (native in Bun and Deno): MD5 for Content-MD5 and ETags, SHA-256 for ids. */
import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";

import { wrap } from "./errors.ts";
import type { Hasher } from "./types.ts";

export function md5(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("md5").update(data).digest());
}

export function hasher(algorithm: "sha256" | "md5"): Hasher {
  const hash = createHash(algorithm);
  return {
    update: (data) => void hash.update(data),
    hex: () => hash.digest("hex"),
  };
}

export async function md5File(path: string): Promise<string> {
  return (await hashRange(path, 0, Number.POSITIVE_INFINITY)).digest("hex");
}

export async function md5Range(path: string, offset: number, size: number): Promise<Uint8Array> {
  return new Uint8Array((await hashRange(path, offset, size)).digest());
}

/** MD5 of `size` bytes of a file from `offset` (fewer if the file ends first), streamed. */
function hashRange(path: string, offset: number, size: number) {
  return wrap("hash", path, async () => {
    const hash = createHash("md5");
    const handle = await fsp.open(path, "r");
    try {
      const buffer = new Uint8Array(Math.min(size, 1024 * 1024));
      for (let done = 0; done < size; ) {
        const want = Math.min(buffer.length, size - done);
        const { bytesRead } = await handle.read(buffer, 0, want, offset + done);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return hash;
  });
}
