/** What every job receives: the runtime, the validated config, a logger and a cancel signal. */
import type { Runtime } from "../../runtime/types.ts";
import type { FileOutcome } from "../file/outcome.ts";
import { openTarget } from "../targets/open.ts";
import { warnUnreadSdkVariables } from "../targets/s3_env.ts";
import type { Target } from "../targets/target.ts";
import type { Config } from "./config.ts";

/** The subset of consola that jobs use, so Deno and tests can pass anything compatible. */
export interface Log {
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
}

export interface JobContext {
  rt: Runtime;
  config: Config;
  log: Log;
  signal?: AbortSignal;
  /** Opened targets by URL, shared by every task of a run (keeps connections alive). */
  targets: Map<string, Target>;
  /** Called with every file outcome (progress display); must not throw. */
  onOutcome?: (outcome: FileOutcome) => void;
}

export function createJobContext(
  rt: Runtime,
  config: Config,
  log: Log,
  signal?: AbortSignal,
): JobContext {
  return { rt, config, log, signal, targets: new Map() };
}

export function targetFor(ctx: JobContext, url: string): Target {
  let target = ctx.targets.get(url);
  if (!target) {
    if (url.startsWith("s3://"))
      warnUnreadSdkVariables(
        (name) => ctx.rt.process.env(name),
        ctx.config.s3,
        (m) => ctx.log.warn(m),
      );
    target = openTarget(ctx.rt, url, ctx.config);
    ctx.targets.set(url, target);
  }
  return target;
}

export function closeTargets(ctx: JobContext): void {
  for (const target of ctx.targets.values()) target.close();
  ctx.targets.clear();
}

export const silentLog: Log = { info() {}, warn() {}, error() {}, debug() {} };
