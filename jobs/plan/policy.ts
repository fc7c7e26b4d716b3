/**
 * A tiering policy (docs/tiering.md; `tiermv scan`): which files an action takes, by age of
 * mtime and ctime (a file written or renamed lately is left alone: it shrinks release's window,
 * I7), age of atime, size, and globs on the path relative to the root. Pure: the caller stats.
 */
import type { FileStat } from "../../runtime/types.ts";

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

/** A glob as a RegExp: `**` any depth, `*` within one name, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      out += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
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
    const newest = Math.max(nsToMs(stat.mtimeNs), nsToMs(stat.ctimeNs));
    if (now - newest < policy.olderThanMs) return "too recent";
  }
  if (policy.atimeOlderThanMs !== undefined && now - nsToMs(stat.atimeNs) < policy.atimeOlderThanMs)
    return "read too recently";
  return null;
}

export function compilePolicy(policy: Policy) {
  return {
    include: (policy.include ?? []).map(globToRegExp),
    exclude: (policy.exclude ?? []).map(globToRegExp),
  };
}
