/**
 * What `release` and `restore` share: the paths (under the source root, canonical), the run in
 * this process for one node (jobs/tier.ts), one line per file that needs a look (every file with
 * --json), a summary, and exit 1 when an outcome needs an operator (cli/exit_codes.ts).
 */
import { consola } from "consola";
import type { FileOutcome } from "../../jobs/file/outcome.ts";
import { validateSubmitPaths } from "../../jobs/plan/walk.ts";
import { type TierAction, tierPaths } from "../../jobs/tier.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import type { CommonArgs } from "../context.ts";
import { withNodeContext } from "../context.ts";
import { OUTCOME_EXIT } from "../exit_codes.ts";
import { canonicalArgs } from "../paths.ts";

const MiB = 1024 * 1024;

function describe(outcome: FileOutcome): string {
  switch (outcome.kind) {
    case "refused":
    case "lost":
    case "dirty":
      return `${outcome.kind}: ${outcome.path}: ${outcome.reason}`;
    case "busy":
      return `busy: ${outcome.path}: held by ${outcome.holder}`;
    case "rejected":
    case "revoked":
      return `${outcome.kind}: ${outcome.path}: ${outcome.error}`;
    default:
      return `${outcome.kind}: ${outcome.path}`;
  }
}

export async function runTier(
  args: CommonArgs & { node: string; json?: boolean; _?: string[] },
  action: TierAction,
  options: { verifyContent?: boolean; dryRun?: boolean; force?: boolean } = {},
): Promise<void> {
  await withNodeContext(args, async (ctx, node) => {
    const given = (args._ ?? []).map(String);
    if (given.length === 0) throw new UsageError(`Give at least one PATH to ${action}`);
    const paths = await validateSubmitPaths(
      ctx.rt,
      ctx.config.root,
      await canonicalArgs(ctx.config, given),
      { shown: given },
    );
    let operator = 0;
    ctx.onOutcome = (outcome) => {
      if (OUTCOME_EXIT[outcome.kind] === "operator") operator++;
      if (args.json) console.log(JSON.stringify(outcome));
      else if (OUTCOME_EXIT[outcome.kind] !== "done") consola.warn(describe(outcome));
    };
    const s = await tierPaths(ctx, node, action, paths, options);
    const counted = Object.entries(s.counts)
      .filter(([kind, n]) => n > 0 && kind !== "bytes" && kind !== "unreadableLocks")
      .map(([kind, n]) => `${n} ${kind}`);
    const verb = { release: "freed", restore: "restored", remove: "no longer archived" }[action];
    const dry = options.dryRun ? " (dry run: nothing changed)" : "";
    const line = `${action}: ${counted.join(", ") || "no files"}; ${(s.bytes / MiB).toFixed(1)} MiB ${verb}${dry}`;
    if (args.json)
      console.log(JSON.stringify({ summary: true, action, counts: s.counts, bytes: s.bytes }));
    else consola.info(line);
    if (operator > 0) process.exitCode = 1;
  });
}
