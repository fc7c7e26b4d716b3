/**
 * Which quota a failed write met, in words: a CephFS directory quota (`ceph.quota.max_bytes` on
 * the file's directory or an ancestor up to the root), else the errno alone. CephFS enforces
 * quotas in the client, lazily (docs/tiering.md); the attribute says which directory to look at.
 */
import type { Runtime } from "../../runtime/types.ts";

const QUOTA_ATTR = "ceph.quota.max_bytes";

/** The closest CephFS byte quota above `path` (up to `root`), or null. */
async function cephQuotaOf(rt: Runtime, path: string, root: string) {
  for (let dir = path.slice(0, path.lastIndexOf("/")); dir.startsWith(root); ) {
    try {
      const raw = await rt.xattr.get(dir, QUOTA_ATTR);
      const bytes = raw === null ? 0 : Number(new TextDecoder().decode(raw));
      if (bytes > 0) return { dir, bytes };
    } catch {
      return null; // not CephFS (ENOTSUP), or unreadable: no quota to name
    }
    if (dir === root) break;
    dir = dir.slice(0, dir.lastIndexOf("/"));
  }
  return null;
}

export async function noSpaceReason(
  rt: Runtime,
  path: string,
  root: string,
  code: "ENOSPC" | "EDQUOT",
): Promise<string> {
  const quota = await cephQuotaOf(rt, path, root);
  const what = code === "EDQUOT" ? "the disk quota is exceeded (EDQUOT)" : "no space left (ENOSPC)";
  const where = quota ? `: ${QUOTA_ATTR}=${quota.bytes} on ${quota.dir}` : "";
  return `cannot restore: ${what}${where}; the stub is left as it was: free space or raise the quota, then restore again`;
}
