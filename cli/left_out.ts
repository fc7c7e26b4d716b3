/**
 * What a dispatch left out of a request, said the same way by `submit` and `dispatch`: the counts
 * in one clause of the summary line, then one line per named path that was not dispatched (the
 * first PROBLEMS_SHOWN), with the producer's line when it is known.
 */
import { consola } from "consola";
import type { LeftOut, RequestResult } from "../jobs/spool/ledger.ts";

const PROBLEMS_SHOWN = 20;

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "; not dispatched: 1 path that does not exist, ...", or "" when nothing was left out. */
export function leftOutClause(left: LeftOut | undefined): string {
  if (!left) return "";
  const parts: string[] = [];
  if (left.vanished > 0)
    parts.push(`${count(left.vanished, "path")} that did not exist (not dispatched)`);
  if (left.refused > 0) parts.push(`${count(left.refused, "path")} refused (not dispatched)`);
  if (left.links > 0) parts.push(`${count(left.links, "symbolic link")} in directories skipped`);
  if (left.special > 0) parts.push(`${count(left.special, "special file")} in directories skipped`);
  if (left.duplicates > 0) parts.push(`${count(left.duplicates, "duplicate path")} dropped`);
  return parts.length > 0 ? `; ${parts.join(", ")}` : "";
}

/**
 * Logs each path the request named that was not dispatched: a vanished one as a warning (it is
 * gone, nothing to do), a refused one as an error (it needs an operator). Returns true when a
 * path was refused.
 */
export function logLeftOutPaths(result: RequestResult): boolean {
  const left = result.leftOut;
  if (!left) return false;
  for (const p of left.problems.slice(0, PROBLEMS_SHOWN)) {
    const text = `Request ${result.id}: ${p.line === undefined ? "" : `line ${p.line}: `}"${p.path}" ${p.reason}`;
    if (p.kind === "refused") consola.error(text);
    else consola.warn(text);
  }
  const listed = Math.min(left.problems.length, PROBLEMS_SHOWN);
  const more = left.vanished + left.refused - listed;
  if (more > 0)
    consola.warn(
      `Request ${result.id}: ${more} more paths not dispatched (--json lists the first ${left.problems.length})`,
    );
  return left.refused > 0;
}
