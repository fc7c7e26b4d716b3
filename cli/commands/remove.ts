import { defineCommand } from "citty";
import { configArgs, jsonArg, nodeArg, pathsArg, S3_ENV } from "../args.ts";
import type { CommandHelp } from "../help.ts";
import { runTier } from "./tier_command.ts";

export const help: CommandHelp = {
  examples: ["tiermv remove --node node-a /mnt/ceph/data/projects/2019/draft.docx"],
  // PATH is required (the command says so, exit 2, without one): shown without brackets.
  usage: ["[OPTIONS] --node NODE PATH..."],
  env: S3_ENV,
};

export default defineCommand({
  meta: {
    name: "remove",
    description:
      "Delete the archived copy (its version) of files that are not released; versioned buckets only (exit 1 if a file is refused)",
  },
  args: {
    ...configArgs,
    ...nodeArg,
    ...jsonArg("One JSON line per file, then a summary line"),
    ...pathsArg("Files or directories under the source root"),
  },
  run: ({ args }) => runTier(args, "remove"),
});
