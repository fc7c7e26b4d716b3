/**
 * verify: the reconciliation of files and objects. Walks the given files (streamed, constant
 * memory) and, for every committed state, HEADs its key and checks size, etag and attempt; reports
 * stale states (the file changed since), missing or wrong objects, leftover locks (owner, age),
 * unreadable xattrs, and objects under the paths' prefixes that no file's state names. Read-only.
 */
import { isNotFound } from "../runtime/errors.ts";
import type { FileStat } from "../runtime/types.ts";
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { readLock } from "./file/lock.ts";
import { readState, stateMatches } from "./file/state.ts";
import { XattrPayloadError } from "./file/xattr_record.ts";
import { type WalkStats, walkFiles } from "./plan/walk.ts";
import { relativeToRoot } from "./util/paths.ts";

export type FindingKind =
  | "stale-state"
  | "missing-object"
  | "wrong-object"
  | "leftover-lock"
  | "unreadable-xattr"
  | "orphan-object";

export interface Finding {
  kind: FindingKind;
  path?: string;
  key?: string;
  detail: string;
}

export interface VerifySummary {
  files: number;
  committed: number;
  unmigrated: number;
  objects: number;
  findings: Record<FindingKind, number>;
  clean: boolean;
}

const KINDS: FindingKind[] = [
  "stale-state",
  "missing-object",
  "wrong-object",
  "leftover-lock",
  "unreadable-xattr",
  "orphan-object",
];

async function checkFile(
  ctx: JobContext,
  path: string,
  stat: FileStat,
  report: (f: Finding) => Promise<void>,
  s: VerifySummary,
) {
  try {
    const lock = await readLock(ctx.rt, path);
    if (lock) {
      const ageS = Math.round((Date.now() - Date.parse(lock.at)) / 1000);
      await report({
        kind: "leftover-lock",
        path,
        detail: `held by node ${lock.node} (attempt ${lock.attempt}, task ${lock.task}, pid ${lock.pid} on ${lock.host}) for ${ageS} s`,
      });
    }
  } catch (err) {
    if (!(err instanceof XattrPayloadError)) throw err;
    await report({ kind: "unreadable-xattr", path, detail: err.message });
  }
  let state: Awaited<ReturnType<typeof readState>>;
  try {
    state = await readState(ctx.rt, path);
  } catch (err) {
    if (!(err instanceof XattrPayloadError)) throw err;
    return report({ kind: "unreadable-xattr", path, detail: err.message });
  }
  if (!state) {
    s.unmigrated++;
    return;
  }
  const unchanged: boolean = stateMatches(state, stat);
  if (!unchanged) {
    return report({
      kind: "stale-state",
      path,
      key: state.key,
      detail: `the file changed since its commit (state: ${state.size} bytes, mtime ${state.mtimeNs}; file: ${stat.size} bytes, mtime ${stat.mtimeNs})`,
    });
  }
  s.committed++;
  const object = await targetFor(ctx, state.target).head(state.key);
  if (!object)
    return report({
      kind: "missing-object",
      path,
      key: state.key,
      detail: `no object at ${state.target} ${state.key}`,
    });
  const problems: string[] = [];
  if (object.size !== state.size) problems.push(`size ${object.size} != ${state.size}`);
  if (object.etag !== state.etag) problems.push(`etag ${object.etag} != ${state.etag}`);
  if (object.meta?.attempt !== state.attempt)
    problems.push(`attempt ${object.meta?.attempt ?? "none"} != ${state.attempt}`);
  if (problems.length > 0)
    await report({ kind: "wrong-object", path, key: state.key, detail: problems.join(", ") });
}

/** Objects under `prefix` whose file's state does not name them (one xattr read per object). */
async function findOrphans(
  ctx: JobContext,
  prefixes: string[],
  report: (f: Finding) => Promise<void>,
  s: VerifySummary,
) {
  const target = targetFor(ctx, ctx.config.target);
  const base = target.keyFor("");
  // The versions of one key come together in a listing: count the key once.
  let previous: string | null = null;
  for await (const { key } of target.list()) {
    if (key.endsWith("/") || key === previous) continue;
    previous = key;
    if (
      !prefixes.some(
        (p) => key === p || key.startsWith(p.endsWith("/") || p === base ? p : `${p}/`),
      )
    )
      continue;
    s.objects++;
    const rel = key.slice(base.length);
    const path = `${ctx.config.root}/${rel}`;
    let state = null;
    try {
      state = await readState(ctx.rt, path);
    } catch (err) {
      if (!(err instanceof XattrPayloadError) && !isNotFound(err)) throw err;
    }
    if (state?.key !== key || state.target !== ctx.config.target) {
      await report({
        kind: "orphan-object",
        key,
        path,
        detail: state
          ? `the file's state names ${state.key}`
          : "no file's committed state names it",
      });
    }
  }
}

export async function verifyPaths(
  ctx: JobContext,
  paths: string[],
  report: (f: Finding) => Promise<void>,
): Promise<VerifySummary> {
  const findings = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  const s: VerifySummary = {
    files: 0,
    committed: 0,
    unmigrated: 0,
    objects: 0,
    findings,
    clean: true,
  };
  const count = async (f: Finding) => {
    findings[f.kind]++;
    s.clean = false;
    await report(f);
  };
  const stats: WalkStats = { files: 0, skippedLinks: 0, skippedOther: 0 };
  for await (const path of walkFiles(ctx.rt, paths, stats)) {
    s.files++;
    const stat = await ctx.rt.fs.lstat(path);
    await checkFile(ctx, path, stat, count, s);
  }
  const target = targetFor(ctx, ctx.config.target);
  const prefixes = paths.map((p) =>
    p === ctx.config.root
      ? target.keyFor("")
      : target.keyFor(relativeToRoot(ctx.config.root, p) ?? ""),
  );
  await findOrphans(ctx, prefixes, count, s);
  return s;
}
