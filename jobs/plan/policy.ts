/**
 * A tiering policy (docs/tiering.md; `tiermv scan`): which files an action takes, by age of
 * mtime and ctime (a file written or renamed lately is left alone: it shrinks release's window,
 * I7), age of atime, size, and globs on the path relative to the root. Pure: the caller stats.
 */
import type { FileStat } from "../../runtime/types.ts";
import { UsageError } from "../util/errors.ts";

export interface Policy {
  action: "migrate" | "release";
  /** mtime AND ctime older than this (ms). */
  olderThanMs?: number;
  atimeOlderThanMs?: number;
  /** Size strictly above this (bytes). */
  largerThan?: number;
  include?: string[];
  exclude?: string[];
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };
const SIZES: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** "30d", "12h", "90m" as milliseconds; null when it does not read as one. */
export function parseAge(text: string): number | null {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  return m ? Number(m[1]) * (UNITS[m[2] as string] as number) : null;
}

/** "1MiB", "512KiB", "100" (bytes) as bytes; null when it does not read as one. */
export function parseSize(text: string): number | null {
  const m = /^(\d+)(B|KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  return m ? Number(m[1]) * (SIZES[m[2] ?? "B"] as number) : null;
}

/**
 * A glob as a RegExp, matched against the path under the root: `**` any depth, `*` within one
 * name, `?` one character, `[abc]` / `[!abc]` one of (or none of) those characters, `{a,b}` one
 * of the alternatives. Anything else is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  let depth = 0; // within how many {…}
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      out += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[" && classEnd(glob, i) > i) {
      const end = classEnd(glob, i);
      const body = glob.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      const chars = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, "\\$&");
      out += negated ? `[^/${chars}]` : `[${chars}]`;
      i = end;
    } else if (c === "{") {
      depth++;
      out += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      out += ")";
    } else if (c === "," && depth > 0) out += "|";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  if (depth > 0) throw new UsageError(`glob "${glob}" has a "{" without its "}"`);
  return new RegExp(`^${out}$`);
}

/**
 * Where the character class opening at `open` ends (its `]`), or -1: a `]` first in the class
 * (after a `!` or `^`) is one of its characters, as in shells.
 */
function classEnd(glob: string, open: number): number {
  const negated = glob[open + 1] === "!" || glob[open + 1] === "^";
  return glob.indexOf("]", open + (negated ? 3 : 2));
}

/** Comma-separated globs, as --include and --exclude take them: a comma within {…} or […] stays. */
export function splitGlobs(text: string): string[] {
  const globs: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "[" && classEnd(text, i) > i) i = classEnd(text, i);
    else if (text[i] === "{") depth++;
    else if (text[i] === "}" && depth > 0) depth--;
    else if (text[i] === "," && depth === 0) {
      globs.push(text.slice(start, i));
      start = i + 1;
    }
  }
  globs.push(text.slice(start));
  return globs.filter(Boolean);
}

/**
 * A glob as it is matched, relative to the root: `./x` is `x`, and an absolute glob under the root
 * (or under the root as the config writes it: `roots`) loses that prefix. An absolute glob
 * elsewhere could match nothing, so it is refused rather than silently selecting every file.
 */
export function rootRelativeGlob(glob: string, roots: string[]): string {
  const relative = toRootRelative(glob, roots);
  // An empty glob would match no file: an --exclude of it would silently exclude nothing.
  if (relative === "")
    throw new UsageError(
      `glob "${glob}" names the root itself, not files under it: use "**" for every file`,
    );
  return relative;
}

function toRootRelative(glob: string, roots: string[]): string {
  if (glob.startsWith("./")) return glob.slice(2);
  if (!glob.startsWith("/")) return glob;
  for (const root of roots) {
    if (glob === root) return "";
    if (glob.startsWith(`${root}/`)) return glob.slice(root.length + 1);
  }
  throw new UsageError(
    `glob "${glob}" is absolute and not under the source root ${roots[0]}: globs match paths under the root, e.g. "logs/**/*.gz"`,
  );
}

const nsToMs = (ns: string) => Number(BigInt(ns) / 1_000_000n);

/** Why the policy leaves this file out (null: it takes it). `rel`: the path under the root. */
export function policyExcludes(
  policy: Policy,
  compiled: { include: RegExp[]; exclude: RegExp[] },
  rel: string,
  stat: FileStat,
  now: number,
): string | null {
  if (compiled.include.length > 0 && !compiled.include.some((r) => r.test(rel)))
    return "not included";
  if (compiled.exclude.some((r) => r.test(rel))) return "excluded";
  if (policy.largerThan !== undefined && stat.size <= policy.largerThan) return "too small";
  if (policy.olderThanMs !== undefined) {
    // Which clock is too recent is said (stable keys of scan's counts): ctime alone moves with
    // metadata changes, tiermv's own records among them (README, Tiering: Policies).
    if (now - nsToMs(stat.mtimeNs) < policy.olderThanMs) return "too recent (mtime)";
    if (now - nsToMs(stat.ctimeNs) < policy.olderThanMs) return "too recent (ctime)";
  }
  if (policy.atimeOlderThanMs !== undefined && now - nsToMs(stat.atimeNs) < policy.atimeOlderThanMs)
    return "read too recently";
  return null;
}

/** The policy's globs compiled, relative to the root (`roots`: its real path, then as written). */
export function compilePolicy(policy: Policy, roots: string[]) {
  const compile = (globs: string[] | undefined) =>
    (globs ?? []).map((glob) => globToRegExp(rootRelativeGlob(glob, roots)));
  return { include: compile(policy.include), exclude: compile(policy.exclude) };
}
