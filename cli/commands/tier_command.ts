/**
 * What `release` and `restore` share: the paths (under the source root, canonical), the run in
 * this process for one node (jobs/tier.ts), one line per file that needs a look (every file with
 * --json), a summary, and exit 1 unless every file was done (cli/exit_codes.ts): nothing here
 * schedules a retry, so a busy or pending file is not done either.
 */
import { consola } from "consola";
import { type FileOutcome, outcomeLine } from "../../jobs/file/outcome.ts";
import { validateSubmitPaths } from "../../jobs/plan/walk.ts";
import { type TierAction, tierPaths } from "../../jobs/tier.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import type { CommonArgs } from "../context.ts";
import { withNodeContext } from "../context.ts";
import { OUTCOME_EXIT } from "../exit_codes.ts";
import { canonicalArgs } from "../paths.ts";

const MiB = 1024 * 1024;

/** One line for a file that needs a look: what happened, and what to do where it is not said. */
function describe(outcome: FileOutcome, action: TierAction): string {
  const again = `not retried by this command: run ${action} again`;
  switch (outcome.kind) {
    case "busy":
      return `${outcomeLine(outcome)}; ${again} once it is free`;
    case "restore-pending":
      return `restore-pending: ${outcome.path}: its object is in ${outcome.storageClass}, and the store is restoring it (RestoreObject, hours); the stub is untouched: ${again} once the object is readable`;
    case "interrupted":
      return `interrupted: ${outcome.path}: stopped before it finished, the file left as it was: ${again}`;
    default:
      return outcomeLine(outcome);
  }
}

/**
 * The paths given, each once: a path named twice (or through another name: they are canonical
 * here) or inside a directory also given would be visited twice, the second time as busy.
 */
export function distinctPaths(paths: string[]): string[] {
  const given = new Set(paths);
  const seen = new Set<string>();
  return paths.filter((path) => {
    if (seen.has(path)) return false;
    seen.add(path);
    for (let at = path.lastIndexOf("/"); at > 0; at = path.lastIndexOf("/", at - 1))
      if (given.has(path.slice(0, at))) return false;
    return path === "/" || !given.has("/");
  });
}

export async function runTier(
  args: CommonArgs & { node: string; json?: boolean; _?: string[] },
  action: TierAction,
  options: { verifyContent?: boolean; dryRun?: boolean; force?: boolean } = {},
): Promise<void> {
  await withNodeContext(args, async (ctx, node) => {
    const given = (args._ ?? []).map(String);
    if (given.length === 0) throw new UsageError(`Give at least one PATH to ${action}`);
    const paths = distinctPaths(
      await validateSubmitPaths(ctx.rt, ctx.config.root, await canonicalArgs(ctx.config, given), {
        shown: given,
      }),
    );
    // Nothing waits on its own here (no retry task): a file left busy, pending or interrupted
    // is not done, and exits 1 as one that needs an operator.
    let notDone = 0;
    let dryRunBytes = 0;
    ctx.onOutcome = (outcome) => {
      if (OUTCOME_EXIT[outcome.kind] !== "done") notDone++;
      if (outcome.kind === "released" && outcome.dryRun) dryRunBytes += outcome.bytes;
      if (args.json) console.log(JSON.stringify(outcome));
      else if (OUTCOME_EXIT[outcome.kind] !== "done") consola.warn(describe(outcome, action));
    };
    const s = await tierPaths(ctx, node, action, paths, options);
    const counted = Object.entries(s.counts)
      .filter(([kind, n]) => n > 0 && kind !== "bytes" && kind !== "unreadableLocks")
      // A dry run released nothing: its count is of what would be.
      .map(
        ([kind, n]) =>
          `${n} ${options.dryRun && kind === `${action}d` ? `would be ${kind}` : kind}`,
      );
    const verb = { release: "freed", restore: "restored", remove: "no longer archived" }[action];
    const bytes = options.dryRun
      ? `${(dryRunBytes / MiB).toFixed(1)} MiB would be ${verb} (dry run: nothing changed)`
      : `${(s.bytes / MiB).toFixed(1)} MiB ${verb}`;
    const line = `${action}: ${counted.join(", ") || "no files"}; ${bytes}`;
    if (args.json) {
      const would = options.dryRun ? { dryRunBytes } : {};
      console.log(
        JSON.stringify({ summary: true, action, counts: s.counts, bytes: s.bytes, ...would }),
      );
    } else consola.info(line);
    if (notDone > 0) process.exitCode = 1;
  });
}
