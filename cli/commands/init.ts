import { defineCommand } from "citty";
import { consola } from "consola";
import { initSpool } from "../../jobs/spool/marker.ts";
import { createRuntime } from "../../runtime/host.ts";
import { CONFIG_ENV, configArgs } from "../args.ts";
import { loadConfig } from "../config.ts";
import type { CommandHelp } from "../help.ts";
import { configureLogging } from "../logging.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv init --config /mnt/ceph/tiermv/config.json",
    "TIERMV_CONFIG=/mnt/ceph/tiermv/config.json tiermv init   # again after adding a node",
  ],
  env: CONFIG_ENV,
};

export default defineCommand({
  meta: {
    name: "init",
    description:
      "Create the spool (or adopt one of tiermv 0.1) and write its marker; every other command needs it",
  },
  args: configArgs,
  async run({ args }) {
    configureLogging(args);
    const config = await loadConfig(args, { spoolMayBeMissing: true });
    const s = await initSpool(createRuntime(), config);
    const how = s.created ? "created" : s.adopted ? "adopted (existing layout kept)" : "ready";
    consola.success(`Spool ${s.spool} ${how}, nodes: ${s.nodes.join(", ")}`);
  },
});
