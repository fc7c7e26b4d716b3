import { defineCommand } from "citty";
import { consola } from "consola";
import type { Config } from "../../jobs/context/config.ts";
import { outcomeLine } from "../../jobs/file/outcome.ts";
import { type Policy, parseAge, parseSize, splitGlobs } from "../../jobs/plan/policy.ts";
import { emptyScan, selectFiles } from "../../jobs/scan.ts";
import { tierFiles } from "../../jobs/tier.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs, jsonArg, nodeArg, pathsArg, S3_ENV } from "../args.ts";
import { withNodeContext } from "../context.ts";
import { OUTCOME_EXIT } from "../exit_codes.ts";
import type { CommandHelp } from "../help.ts";
import { pathsOrRoot } from "../paths.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv scan --node node-a --action release --older-than 90d --larger-than 1MiB --dry-run",
    "tiermv scan --node node-a --action release --older-than 90d --exclude 'scratch/**'",
    "tiermv scan --node node-a --action migrate --older-than 30d | tiermv submit --from -",
  ],
  env: S3_ENV,
};

const MiB = 1024 * 1024;

/** The config's policy `name` as scan flags (the flags given on the command line win). */
function policyFlags(config: Config, name: string): Record<string, unknown> {
  const p = config.policies[name];
  if (!p)
    throw new UsageError(
      `No policy "${name}" in the config (policies: ${Object.keys(config.policies).join(", ") || "none"})`,
    );
  return {
    action: p.action,
    "older-than": p.olderThan,
    "atime-older-than": p.atimeOlderThan,
    "larger-than": p.largerThan,
    include: p.include?.join(","),
    exclude: p.exclude?.join(","),
  };
}

function policyOf(given: Record<string, unknown>, config: Config): Policy {
  const fromConfig = given.policy ? policyFlags(config, String(given.policy)) : {};
  const args = { ...fromConfig };
  for (const [k, val] of Object.entries(given))
    if (val !== undefined && k !== "action") args[k] = val;
  // A bare `scan DIR` reads as a survey, and a release frees bytes: it is said, not defaulted
  // (a dry run only counts, so it may count for release).
  if (given.action === undefined && fromConfig.action === undefined && given["dry-run"] !== true)
    throw new UsageError(
      "Say what the scan is for: --action release (frees the selected files' bytes), --action migrate (prints their paths for submit --from -), or --policy NAME; --dry-run only counts",
    );
  args.action = given.action ?? fromConfig.action ?? "release";
  const action = String(args.action);
  if (action !== "migrate" && action !== "release")
    throw new UsageError(`--action must be migrate or release, not "${action}"`);
  const policy: Policy = { action };
  const age = (flag: string) => {
    const text = args[flag];
    if (text === undefined) return undefined;
    const ms = parseAge(String(text));
    if (ms === null) throw new UsageError(`--${flag} "${text}" is not an age like 30d, 12h, 90m`);
    return ms;
  };
  policy.olderThanMs = age("older-than");
  policy.atimeOlderThanMs = age("atime-older-than");
  if (args["larger-than"] !== undefined) {
    const size = parseSize(String(args["larger-than"]));
    if (size === null)
      throw new UsageError(
        `--larger-than "${args["larger-than"]}" is not a size like 1MiB, 512KiB`,
      );
    policy.largerThan = size;
  }
  const globs = (flag: string) =>
    args[flag] === undefined ? undefined : splitGlobs(String(args[flag]));
  policy.include = globs("include");
  policy.exclude = globs("exclude");
  return policy;
}

export default defineCommand({
  meta: {
    name: "scan",
    description:
      "Select files by policy (age of mtime and ctime, atime, size, globs, marks), streamed: count them (--dry-run), release them, or print them for submit --from -",
  },
  args: {
    ...configArgs,
    ...nodeArg,
    policy: {
      type: "string",
      valueHint: "NAME",
      description: "A policy of the config's `policies` (flags given here override its fields)",
    },
    action: {
      type: "string",
      valueHint: "migrate|release",
      description:
        "What the selected files are for (the policy's with --policy; required otherwise, but for --dry-run, which counts for release)",
    },
    "older-than": {
      type: "string",
      valueHint: "AGE",
      description: "mtime and ctime older than (30d, 12h)",
    },
    "atime-older-than": { type: "string", valueHint: "AGE", description: "atime older than" },
    "larger-than": { type: "string", valueHint: "SIZE", description: "Larger than (1MiB, 512KiB)" },
    include: {
      type: "string",
      valueHint: "GLOBS",
      description: "Only paths (under the root) matching one of these comma-separated globs",
    },
    exclude: {
      type: "string",
      valueHint: "GLOBS",
      description: "Leave out paths matching one of these comma-separated globs",
    },
    "dry-run": { type: "boolean", default: false, description: "Count files and bytes only" },
    ...jsonArg('Also print the summary as one JSON line on stderr ({"scan": ...})'),
    ...pathsArg("Files or directories under the source root (default: the root)"),
  },
  run: ({ args }) =>
    withNodeContext(args, async (ctx, node) => {
      const policy = policyOf(args, ctx.config);
      const paths = await pathsOrRoot(ctx, args._);
      const s = emptyScan(policy.action);
      const selected = selectFiles(ctx, paths, policy, s);
      let operator = 0;
      if (args["dry-run"]) for await (const _ of selected);
      else if (policy.action === "migrate") for await (const path of selected) console.log(path);
      else {
        ctx.onOutcome = (o) => {
          if (OUTCOME_EXIT[o.kind] === "operator") operator++;
          if (OUTCOME_EXIT[o.kind] !== "done") consola.warn(outcomeLine(o));
        };
        const r = await tierFiles(ctx, node, "release", () => selected);
        consola.info(
          `released ${r.counts.released} files, ${(r.bytes / MiB).toFixed(1)} MiB freed`,
        );
      }
      const skipped = Object.entries(s.skipped)
        .map(([why, n]) => `${n} ${why}`)
        .join(", ");
      // The summary goes to stderr, so that `scan --action migrate` can feed `submit --from -`.
      consola.info(
        `scan (${policy.action}${args["dry-run"] ? ", dry run" : ""}): ${s.files} files, ${s.selected} selected (${(s.bytes / MiB).toFixed(1)} MiB)${skipped ? `; left out: ${skipped}` : ""}`,
      );
      // For scripts, on request: stdout carries --action migrate's paths, and a cron line's
      // stderr is mailed (a JSON line every night was noise there, --quiet or not).
      if (args.json) console.error(JSON.stringify({ scan: s }));
      if (operator > 0) process.exitCode = 1;
    }),
});
