import { defineCommand } from "citty";
import { configArgs, jsonArg, nodeArg, pathsArg, S3_ENV } from "../args.ts";
import type { CommandHelp } from "../help.ts";
import { runTier } from "./tier_command.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv restore --node node-a /mnt/ceph/data/projects/old/report.pdf",
    "tiermv restore --node node-a --json /mnt/ceph/data/projects/old | jq -c 'select(.kind != \"restored\")'",
  ],
  // PATH is required (the command says so, exit 2, without one): shown without brackets.
  usage: ["[OPTIONS] --node NODE PATH..."],
  env: S3_ENV,
};

export default defineCommand({
  meta: {
    name: "restore",
    description:
      "Bring released files' bytes back into the same inodes, verified, mtime restored (exit 1 unless every file is restored or skipped: lost, dirty, busy, restore-pending, interrupted or out of space among the others)",
  },
  args: {
    ...configArgs,
    ...nodeArg,
    force: {
      type: "boolean",
      default: false,
      description: "Also restore dirty files: their bytes written since the release are dropped",
    },
    ...jsonArg("One JSON line per file, then a summary line"),
    ...pathsArg("Files or directories under the source root"),
  },
  run: ({ args }) => runTier(args, "restore", { force: args.force }),
});
