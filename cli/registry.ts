/**
 * Every command, loaded lazily: `tiermv run` imports only what run needs. Each module exports its
 * citty command as `default` (drain.ts: `drain` and `undrain`) and its help extras as `help`.
 */
import type { LoadedCommand } from "./help.ts";

type Loader = () => Promise<LoadedCommand>;

export const COMMANDS: Record<string, Loader> = {
  init: () => import("./commands/init.ts").then((m) => ({ command: m.default, help: m.help })),
  submit: () => import("./commands/submit.ts").then((m) => ({ command: m.default, help: m.help })),
  run: () => import("./commands/run.ts").then((m) => ({ command: m.default, help: m.help })),
  status: () => import("./commands/status.ts").then((m) => ({ command: m.default, help: m.help })),
  retry: () => import("./commands/retry.ts").then((m) => ({ command: m.default, help: m.help })),
  inspect: () =>
    import("./commands/inspect.ts").then((m) => ({ command: m.default, help: m.help })),
  verify: () => import("./commands/verify.ts").then((m) => ({ command: m.default, help: m.help })),
  dispatch: () =>
    import("./commands/dispatch.ts").then((m) => ({ command: m.default, help: m.help })),
  rollback: () =>
    import("./commands/rollback.ts").then((m) => ({ command: m.default, help: m.help })),
  recover: () =>
    import("./commands/recover.ts").then((m) => ({ command: m.default, help: m.help })),
  drain: () => import("./commands/drain.ts").then((m) => ({ command: m.drain, help: m.drainHelp })),
  undrain: () =>
    import("./commands/drain.ts").then((m) => ({ command: m.undrain, help: m.undrainHelp })),
  reassign: () =>
    import("./commands/reassign.ts").then((m) => ({ command: m.default, help: m.help })),
  report: () => import("./commands/report.ts").then((m) => ({ command: m.default, help: m.help })),
  events: () => import("./commands/events.ts").then((m) => ({ command: m.default, help: m.help })),
  serve: () => import("./commands/serve.ts").then((m) => ({ command: m.default, help: m.help })),
  scan: () => import("./commands/scan.ts").then((m) => ({ command: m.default, help: m.help })),
  ls: () => import("./commands/ls.ts").then((m) => ({ command: m.default, help: m.help })),
  remove: () => import("./commands/remove.ts").then((m) => ({ command: m.default, help: m.help })),
  release: () =>
    import("./commands/release.ts").then((m) => ({ command: m.default, help: m.help })),
  restore: () =>
    import("./commands/restore.ts").then((m) => ({ command: m.default, help: m.help })),
};
