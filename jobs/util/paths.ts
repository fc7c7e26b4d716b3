/** Path rules: only regular files under the source root are migrated, keyed by relative path. */

/** The path relative to `root`, or null when `path` is not strictly inside it. */
export function relativeToRoot(root: string, path: string): string | null {
  if (!path.startsWith("/")) return null;
  const parts = path.split("/");
  if (parts.some((p) => p === ".." || p === ".")) return null;
  const base = root === "/" ? "/" : `${root}/`;
  if (!path.startsWith(base) || path.length <= base.length) return null;
  const rel = path.slice(base.length);
  return rel.includes("//") || rel.endsWith("/") ? null : rel;
}
