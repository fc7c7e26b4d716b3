#!/usr/bin/env -S BUN_JSC_forceRAMSize=268435456 bun
// forceRAMSize: JSC sizes its heap growth for 256 MiB of RAM instead of the whole machine's (a
// heuristic, not a cap; Bun's equivalent of --max-old-space-size): ~30 MiB less peak RSS, same speed.
/** tiermv: multi-node file migration from a shared filesystem to S3. Commands load lazily. */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../jobs/util/version.ts";

const main = defineCommand({
  meta: {
    name: "tiermv",
    version: VERSION,
    description: "Migrate files from a shared filesystem to S3, from many nodes at once",
  },
  subCommands: {
    submit: () => import("./commands/submit.ts").then((m) => m.default),
    run: () => import("./commands/run.ts").then((m) => m.default),
    rollback: () => import("./commands/rollback.ts").then((m) => m.default),
    inspect: () => import("./commands/inspect.ts").then((m) => m.default),
    recover: () => import("./commands/recover.ts").then((m) => m.default),
    dispatch: () => import("./commands/dispatch.ts").then((m) => m.default),
    drain: () => import("./commands/drain.ts").then((m) => m.drain),
    undrain: () => import("./commands/drain.ts").then((m) => m.undrain),
    reassign: () => import("./commands/reassign.ts").then((m) => m.default),
    status: () => import("./commands/status.ts").then((m) => m.default),
    report: () => import("./commands/report.ts").then((m) => m.default),
    events: () => import("./commands/events.ts").then((m) => m.default),
    serve: () => import("./commands/serve.ts").then((m) => m.default),
    verify: () => import("./commands/verify.ts").then((m) => m.default),
  },
});

await runMain(main);
