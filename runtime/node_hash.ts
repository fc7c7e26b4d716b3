/**
 * Hashes of bytes in memory on node:crypto (native in Bun and Deno): MD5 for Content-MD5 and
 * ETags, SHA-256 for ids. Hashes of files are computed on the mount's threads (mount_fs.ts).
 */
import { createHash } from "node:crypto";
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
