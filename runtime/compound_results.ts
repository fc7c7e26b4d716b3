/**
 * The results of compound calls (mount_compound.ts) as the caller receives them: each call's
 * value, or its error thrown as that call made alone would have thrown it (its operation, path
 * and attribute), only when the caller takes that call's result.
 */
import type { CallMeta } from "./mount_calls.ts";
import { toError } from "./mount_calls.ts";
import type { Step } from "./mount_compound.ts";
import type { FileStat, Listing, StatWithXattr, XattrRead } from "./types.ts";

/** The value of one call of a compound call, or its error as that call alone would throw it. */
export function resultOf<T>(step: Step<T> | null, meta: CallMeta): T {
  if (!step) throw new Error(`Internal: ${meta.op} "${meta.path}" did not run`);
  if (step.ok) return step.value;
  throw toError(step.error, meta);
}

type TopStep = { name: string; value: Step<Uint8Array | null> } | null;

/** The read of a listing's top name, or its error as getXattr(name) would throw it. */
export function topOf(top: TopStep, path: string): XattrRead | null {
  if (top === null) return null;
  return { name: top.name, value: resultOf(top.value, { op: "read", path, attr: top.name }) };
}

type MarkedStep = { stat: Step<FileStat>; value: Step<Uint8Array | null> | null } | null;

/** The fstat and mark read of a compound call, each thrown as its call alone would throw it. */
export function markedOf(
  r: MarkedStep,
  path: string,
  mark: string | undefined,
): (() => Promise<StatWithXattr>) | null {
  if (r === null) return null;
  return async () => {
    const stat = resultOf(r.stat, { op: "stat", path });
    return { stat, value: resultOf(r.value, { op: "read", path, attr: mark }) };
  };
}

/** The removes of a compound call, or the error of the first that failed. */
export function removedOf(r: Step<boolean>[], names: string[], path: string): boolean[] {
  return r.map((one, i) => resultOf(one, { op: "remove", path, attr: names[i] }));
}

/** A compound call's listing and top read, or the first of their errors. */
export function listingOf(
  r: { names: Step<string[]> | null; top: TopStep; marked?: MarkedStep },
  path: string,
  mark?: string,
): Listing {
  const names = resultOf(r.names, { op: "list", path, attr: "*" });
  return { names, top: topOf(r.top, path), marked: markedOf(r.marked ?? null, path, mark) };
}
