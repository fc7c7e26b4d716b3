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

/**
 * `path` as seen under the resolved source root: a path written through the root as configured
 * (a symlink, resolved once when the config is loaded) gets the resolved root instead, so the
 * same file is the same path, key and placement whichever way it was named. Text only: cheap
 * enough for every line of a million-path request.
 */
export function underResolvedRoot(
  config: { root: string; rootAliases?: string[] },
  path: string,
): string {
  for (const alias of config.rootAliases ?? []) {
    if (path === alias) return config.root;
    if (path.startsWith(`${alias}/`)) return `${config.root}${path.slice(alias.length)}`;
  }
  return path;
}

/** True when `inner` is `outer` or lies under it (both absolute and normalised). */
export function isWithin(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer === "/" ? "/" : `${outer}/`);
}
