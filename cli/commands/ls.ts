import { defineCommand } from "citty";
import { consola } from "consola";
import { type LsEntry, listTiers } from "../../jobs/ls.ts";
import { CONFIG_ENV, configArgs, jsonArg, pathsArg } from "../args.ts";
import { withContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";
import { pathsOrRoot } from "../paths.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv ls /mnt/ceph/data/projects/old",
    'tiermv ls --json /mnt/ceph/data | jq -c \'select(.tier == "partial" or .tier == "dirty")\'',
  ],
  env: CONFIG_ENV,
};

const MiB = 1024 * 1024;

/** A path as one line of text: one with a control character (a newline) is shown quoted. */
const shown = (path: string) =>
  [...path].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f") ? JSON.stringify(path) : path;

function line(e: LsEntry): string {
  if (e.tier === "unreadable") return `unreadable  ${shown(e.path)}: ${e.error}`;
  const archived = e.archivedSize === null ? "" : ` (archived ${e.archivedSize} bytes)`;
  const elsewhere = e.elsewhere
    ? `; its state names ${e.elsewhere}, not this path (renamed: ${["released", "partial", "dirty"].includes(e.tier) ? "restore it, then migrate it" : "migrate it"} again)`
    : "";
  return `${e.tier.padEnd(11)} ${String(e.size).padStart(12)}  ${shown(e.path)}${archived}${elsewhere}`;
}

export default defineCommand({
  meta: {
    name: "ls",
    description:
      "List files with their tier state: unmigrated, migrated, changed, released (with the original size), partial (released, with at most its archived bytes back: restore finishes it, or finds it dirty if they were written) or dirty; a state naming another path's key (a renamed file) is said",
  },
  args: {
    ...configArgs,
    ...jsonArg("One JSON object per file, then a summary line"),
    ...pathsArg("Files or directories under the source root (default: the root)"),
  },
  run: ({ args }) =>
    withContext(args, async (ctx) => {
      const paths = await pathsOrRoot(ctx, args._);
      const s = await listTiers(ctx, paths, (e) =>
        console.log(args.json ? JSON.stringify(e) : line(e)),
      );
      if (args.json) console.log(JSON.stringify({ summary: s }));
      else {
        const counts = Object.entries(s.files)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${n} ${k}`);
        consola.info(
          `${counts.join(", ") || "no files"}; ${(s.bytes / MiB).toFixed(1)} MiB here, ${(s.releasedBytes / MiB).toFixed(1)} MiB released`,
        );
      }
    }),
});
