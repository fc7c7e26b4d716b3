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

/**
 * `path` made absolute against `cwd`, with `.`, `..` and doubled slashes resolved as text (the
 * filesystem is not asked, so symlinks are not followed).
 */
export function absolutePath(cwd: string, path: string): string {
  const full = path.startsWith("/") ? path : `${cwd}/${path}`;
  const parts: string[] = [];
  for (const part of full.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}
