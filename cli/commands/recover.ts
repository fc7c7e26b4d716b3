import { createInterface } from "node:readline";
import { defineCommand } from "citty";
import { consola } from "consola";
import { recoverNode } from "../../jobs/recover.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { configArgs, NODE_S3_ENV } from "../args.ts";
import { withNodeContext, withNodeLock } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv recover --node node-c            # asks you to type node-c; anything else means no",
    "tiermv recover --node node-c --yes      # node-c is powered off for good",
  ],
  env: NODE_S3_ENV,
};

export default defineCommand({
  meta: {
    name: "recover",
    description:
      "Revoke a lost node's epochs, clean them through rollback, return its running tasks to pending",
  },
  args: {
    ...configArgs,
    node: {
      type: "string",
      required: true,
      valueHint: "NODE",
      description: "The node that is gone (must be down)",
    },
    yes: { type: "boolean", default: false, description: "Do not ask for confirmation" },
    force: {
      type: "boolean",
      default: false,
      description: "Even if its heartbeat is fresh (safe: a live node's epochs are revoked)",
    },
  },
  run: ({ args }) =>
    withNodeContext(args, async (ctx, node) => {
      if (!args.yes) {
        if (!process.stdin.isTTY)
          throw new UsageError("recover changes shared state: pass --yes to confirm");
        // The node's name typed, not a yes/no toggle: a stray arrow or j/k key flipped the toggle
        // to Yes before an Enter, for an action that revokes a node's work cluster-wide. Read in
        // the terminal's own line mode: it echoes, and Ctrl-C is SIGINT (exit 130).
        process.stderr.write(
          `Node "${node}" is powered off and will not come back? Type its name to recover it (anything else: nothing is done): `,
        );
        if ((await typedLine()).trim() !== node)
          throw new UsageError("Not confirmed: nothing done");
      }
      const s = await withNodeLock(ctx, node, () => recoverNode(ctx, node, { force: args.force }));
      if (!s) return;
      consola.success(
        `Recovered node ${s.node}: ${s.revoked} epochs revoked, ${s.rollback.cleaned} cleaned (${s.rollback.deleted} object versions deleted), ${s.tasksReturned} tasks back to pending${s.rollback.waiting > 0 ? `; ${s.rollback.waiting} cleanups wait for the late-write window (s3.lateWriteWindowMs): run \`tiermv rollback --node ${s.node}\` after it` : ""}`,
      );
    }),
});

/** One line typed at the terminal; "" when the input ends first. */
function typedLine(): Promise<string> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    let typed: string | null = null;
    lines.once("line", (line) => {
      typed = line;
      lines.close();
    });
    lines.once("close", () => resolve(typed ?? ""));
  });
}
