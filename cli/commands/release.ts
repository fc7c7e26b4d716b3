import { defineCommand } from "citty";
import { configArgs, jsonArg, nodeArg, pathsArg, S3_ENV } from "../args.ts";
import type { CommandHelp } from "../help.ts";
import { runTier } from "./tier_command.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv release --node node-a /mnt/ceph/data/projects/old",
    "tiermv release --node node-a --dry-run /mnt/ceph/data/projects/old   # what would be freed",
    "tiermv release --node node-a --verify-content /mnt/ceph/data/big.iso",
  ],
  // PATH is required (the command says so, exit 2, without one): shown without brackets.
  usage: ["[OPTIONS] --node NODE PATH..."],
  env: S3_ENV,
};

export default defineCommand({
  meta: {
    name: "release",
    description:
      "Free the space of migrated files: each becomes an empty stub whose bytes stay in its object (exit 1 unless every file is released or skipped)",
  },
  args: {
    ...configArgs,
    ...nodeArg,
    "dry-run": {
      type: "boolean",
      default: false,
      description: "Check each file and its object (HEAD), free nothing: counts and bytes",
    },
    "verify-content": {
      type: "boolean",
      default: false,
      description: "Also compare the file's bytes with the object's ETag before freeing them",
    },
    ...jsonArg("One JSON line per file, then a summary line"),
    ...pathsArg("Files or directories under the source root"),
  },
  run: ({ args }) =>
    runTier(args, "release", { dryRun: args["dry-run"], verifyContent: args["verify-content"] }),
});
