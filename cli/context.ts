/**
 * Builds a job context for a command: the config (validated, root and spool resolved), the spool
 * checked for its marker (`tiermv init`), a runtime and what SIGINT/SIGTERM do. A command that
 * honours `ctx.signal` (run, serve, events --follow) asks for `onSignal: "abort"`: the signal
 * aborts it and it stops in its own way. Every other command stops at once with exit 130 (SIGINT)
 * or 143 (SIGTERM): its jobs are idempotent and safe to kill at any line (a rerun finishes
 * them); aborting a signal that such a command never reads made Ctrl-C do nothing.
 * Errors propagate to cli/run_cli.ts, the one place that turns them into a line and an exit code.
 */
import { consola } from "consola";
import { assertKnownNode, type Config } from "../jobs/context/config.ts";
import { closeTargets, createJobContext, type JobContext } from "../jobs/context/job_context.ts";
import { assertSameNodes, checkSpool } from "../jobs/spool/marker.ts";
import { deadline } from "../jobs/util/async.ts";
import { MountUnavailableError } from "../jobs/util/errors.ts";
import { createRuntime } from "../runtime/host.ts";
import type { Runtime } from "../runtime/types.ts";
import { readConfig, resolveConfig, type WrittenConfig } from "./config.ts";
import { configureLogging } from "./logging.ts";
import { withNodeLocks } from "./node_locks.ts";

export interface CommonArgs {
  config?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export interface ContextOptions {
  /**
   * "abort": SIGINT/SIGTERM abort `ctx.signal` and the command stops in its own way (it must
   * read the signal). "exit" (the default): the command stops at once, exit 128 + the signal.
   */
  onSignal?: "abort" | "exit";
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

/** Stops the process for `signal` at once: one line, exit 128 + its number (130, 143). */
function exitForSignal(signal: NodeJS.Signals): never {
  const code = 128 + (SIGNAL_NUMBERS[signal as keyof typeof SIGNAL_NUMBERS] ?? 0);
  consola.warn(`Stopped by ${signal} before it finished (exit ${code})`);
  process.exit(code);
}

/** Runs `fn` with a context; every target is closed afterwards. */
export async function withContext<T>(
  args: CommonArgs,
  fn: (ctx: JobContext) => Promise<T>,
  options: ContextOptions = {},
): Promise<T> {
  configureLogging(args);
  const written = await readConfig(args);
  const rt = createRuntime({ mount: written.config.mount });
  return inContext(rt, written, fn, options);
}

/** The context of a read config: its paths resolved and the spool checked, both bounded. */
async function inContext<T>(
  rt: Runtime,
  written: WrittenConfig,
  fn: (ctx: JobContext) => Promise<T>,
  options: ContextOptions,
): Promise<T> {
  const config = await resolveConfig(written);
  await spoolReady(rt, config, written.file);
  const controller = new AbortController();
  // The signal's name is the abort reason, so a command can say why it stopped.
  const onSignal = (signal: NodeJS.Signals) => {
    controller.abort(signal);
    if (options.onSignal !== "abort") exitForSignal(signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const ctx = createJobContext(rt, config, consola, controller.signal);
  try {
    return await fn(ctx);
  } finally {
    closeTargets(ctx);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * withStoppableContext for a command that runs nodes (run): the nodes' single-instance locks
 * are taken first, from the config as written, before anything touches the shared mount, so a
 * second run next to one stuck in a hung mount names the stuck one (cli/node_locks.ts). `fn`
 * gets the nodes whose locks it holds; it is not called when it holds none.
 */
export async function withNodesLockedFirst<T>(
  args: CommonArgs,
  nodesOf: (config: Config) => string[],
  fn: (ctx: JobContext, mine: string[]) => Promise<T>,
): Promise<T | undefined> {
  configureLogging(args);
  const written = await readConfig(args);
  const nodes = nodesOf(written.config);
  const rt = createRuntime({ mount: written.config.mount });
  return withNodeLocks(rt, written.config, nodes, (mine) =>
    inContext(rt, written, (ctx) => fn(ctx, mine), { onSignal: "abort" }),
  );
}

/**
 * withContext for a command that reads `ctx.signal` and stops in its own way when SIGINT or
 * SIGTERM aborts it (run, serve): see ContextOptions.
 */
export function withStoppableContext<T>(
  args: CommonArgs,
  fn: (ctx: JobContext) => Promise<T>,
): Promise<T> {
  return withContext(args, fn, { onSignal: "abort" });
}

/**
 * The spool's marker check, bounded like every other look at the shared mount: the spool is
 * initialised, and for the nodes the config names.
 */
async function spoolReady(rt: Runtime, config: Config, file: string | undefined): Promise<void> {
  const ms = config.mount.timeoutMs;
  const marker = await deadline(checkSpool(rt, config.spool, file), ms, {
    onTimeout: () =>
      new MountUnavailableError("check the spool marker in", config.spool, ms, "deadline"),
  });
  assertSameNodes(marker, config, file);
}

/** withContext for a command that acts for one node, which the config must name. */
export function withNodeContext(
  args: CommonArgs & { node: string },
  fn: (ctx: JobContext, node: string) => Promise<void>,
  options: ContextOptions = {},
): Promise<void> {
  return withContext(
    args,
    async (ctx) => {
      assertKnownNode(ctx.config, args.node);
      await fn(ctx, args.node);
    },
    options,
  );
}

/**
 * Runs `fn` holding this node's single-instance lock (run, rollback and recover of one node
 * never overlap on a host). When a healthy instance holds it, says so and returns undefined; a
 * stuck one throws AlreadyRunningError (exit 1).
 */
export function withNodeLock<T>(
  ctx: JobContext,
  node: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  return withNodeLocks(ctx.rt, ctx.config, [node], () => fn());
}
