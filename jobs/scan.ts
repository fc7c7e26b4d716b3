/**
 * `tiermv scan`: walks the tree streamed (one directory's entries at a time: constant memory
 * whatever the number of files; the spool left out) and yields the files a policy selects for its
 * action: `migrate` takes files not migrated, changed since their commit, or renamed since (their
 * state names another key or target), and not marked `user.tiermv.noarchive`; `release` takes
 * migrated, unchanged files not marked `user.tiermv.norelease` whose state release would accept
 * (this path's key on this target, a version unless s3.releaseUnversioned: release.ts
 * `committedRefusal`; release checks everything again under its lock, and the object). Every
 * file left out is counted by reason.
 */
import { type JobContext, targetFor } from "./context/job_context.ts";
import { lookAtFileOr } from "./file/open_file.ts";
import type { State } from "./file/records.ts";
import { type CommittedRefusal, committedRefusal, NORELEASE } from "./file/release.ts";
import { tierOf } from "./file/tier_state.ts";
import { readView } from "./file/view.ts";
import { XattrPayloadError } from "./file/xattr_record.ts";
import { compilePolicy, type Policy, policyExcludes } from "./plan/policy.ts";
import { type WalkStats, walkFiles } from "./plan/walk.ts";
import { relativeToRoot } from "./util/paths.ts";

export const NOARCHIVE = "user.tiermv.noarchive";

export interface ScanSummary {
  action: Policy["action"];
  files: number;
  selected: number;
  /** Bytes of the selected files (on the hot tier now). */
  bytes: number;
  /** Files left out, by reason. */
  skipped: Record<string, number>;
}

export function emptyScan(action: Policy["action"]): ScanSummary {
  return { action, files: 0, selected: 0, bytes: 0, skipped: {} };
}

export async function* selectFiles(
  ctx: JobContext,
  paths: string[],
  policy: Policy,
  s: ScanSummary,
  now = Date.now(),
): AsyncGenerator<string> {
  const compiled = compilePolicy(policy, [ctx.config.root, ...(ctx.config.rootAliases ?? [])]);
  const target = targetFor(ctx, ctx.config.target);
  const skip = (reason: string) => {
    s.skipped[reason] = (s.skipped[reason] ?? 0) + 1;
  };
  // A path gone during the walk is left out as the files it held would be; one the walk cannot
  // enter or name (an unreadable directory, a name that is not UTF-8) is counted with why.
  const walk: WalkStats = {
    files: 0,
    skippedLinks: 0,
    skippedOther: 0,
    onProblem: (problem) => {
      if (problem.kind === "refused") {
        s.files++;
        skip(`unreadable (${problem.reason})`);
      }
    },
  };
  for await (const path of walkFiles(ctx.rt, paths, walk)) {
    if (path.startsWith(`${ctx.config.spool}/`)) continue;
    s.files++;
    const rel = relativeToRoot(ctx.config.root, path);
    if (rel === null) {
      skip("outside the root");
      continue;
    }
    // --action migrate prints one path per line for submit --from: a name with a newline would
    // read as two paths there (and the whole request be refused), so it is left out, and said.
    if (policy.action === "migrate" && path.includes("\n")) {
      skip("a newline in its name (submit it by its path: tiermv submit PATH)");
      continue;
    }
    const identity = () => ({ key: target.keyFor(rel), target: target.url });
    const verdict = await judge(ctx, path, rel, { policy, compiled, identity }, now);
    if ("reason" in verdict) {
      skip(verdict.reason);
      continue;
    }
    s.selected++;
    s.bytes += verdict.size;
    yield path;
  }
}

/** The reason the file is left out, or its size when the policy selects it. */
type Verdict = { reason: string } | { size: number };

/**
 * Judges one file by the policy (gone: it vanished or is a symlink now; one this user cannot
 * open is left out, with why, and the walk goes on).
 */
async function judge(
  ctx: JobContext,
  path: string,
  rel: string,
  rules: {
    policy: Policy;
    compiled: ReturnType<typeof compilePolicy>;
    /** This path's key on the configured target (asked for migrated files only). */
    identity: () => { key: string; target: string };
  },
  now: number,
): Promise<Verdict> {
  const { policy, compiled, identity } = rules;
  const unreadable = (why: string): Verdict => ({ reason: `unreadable (the file ${why})` });
  const looked = await lookAtFileOr(
    ctx.rt,
    path,
    async (handle): Promise<Verdict> => {
      const stat = await handle.stat();
      const excluded = policyExcludes(policy, compiled, rel, stat, now);
      // An empty file left out by size may be a stub: released is what it is, not too small.
      if (excluded === "too small" && stat.size === 0 && policy.action === "release") {
        const released = await readView(handle).then(
          (v) => v.current?.state.state === "released",
          (err) => {
            if (err instanceof XattrPayloadError) return false; // too small all the same
            throw err;
          },
        );
        return { reason: released ? "released" : excluded };
      }
      if (excluded) return { reason: excluded };
      const mark = policy.action === "release" ? NORELEASE : NOARCHIVE;
      if ((await handle.getXattr(mark)) !== null) return { reason: `marked ${mark}` };
      let view: Awaited<ReturnType<typeof readView>>;
      try {
        view = await readView(handle);
      } catch (err) {
        if (err instanceof XattrPayloadError) return { reason: "unreadable records" };
        throw err;
      }
      const { tier } = tierOf(view, stat);
      const state = view.current?.state;
      const selected = { size: stat.size };
      const refusal =
        tier === "migrated" && state
          ? committedRefusal(state, { ...identity(), stat }, false, ctx.config.s3)
          : undefined;
      if (policy.action === "migrate") {
        if (tier === "unmigrated" || tier === "changed") return selected;
        // Renamed, or the target changed: its state names another key, and migrate archives
        // it at this path's (migrate_file.ts), as release's refusal tells the operator to.
        return refusal?.kind === "other-key" ? selected : { reason: tier };
      }
      if (tier !== "migrated") return { reason: tier };
      if (refusal && state) return { reason: leftOutFor(refusal, state) };
      return selected;
    },
    unreadable,
  );
  return looked ?? { reason: "gone" };
}

/**
 * What scan says of a migrated file release would refuse: one count per kind (not per key), with
 * what to do, worded as release words it for a file:// target.
 */
function leftOutFor(refusal: CommittedRefusal, state: State): string {
  switch (refusal.kind) {
    case "other-key":
      return "renamed, or migrated to another target (migrate it first: scan --action migrate selects it)";
    case "changed":
      return "changed since its migration (migrate it first)";
    case "norelease":
      return `marked ${NORELEASE}`;
    case "unversioned":
      return state.target.startsWith("file://")
        ? "on a file:// target, which keeps one copy per key (set s3.releaseUnversioned to release there)"
        : "not versioned (enable versioning on the bucket, or set s3.releaseUnversioned)";
  }
}
