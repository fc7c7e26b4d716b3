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
import { assertKnownNode, type Config, liveWithinMs } from "../jobs/context/config.ts";
import { AlreadyRunningError, acquireInstanceLock } from "../jobs/context/instance_lock.ts";
import { closeTargets, createJobContext, type JobContext } from "../jobs/context/job_context.ts";
import { assertSameNodes, checkSpool } from "../jobs/spool/marker.ts";
import { deadline } from "../jobs/util/async.ts";
import { MountUnavailableError } from "../jobs/util/errors.ts";
import { createRuntime } from "../runtime/bun.ts";
import { loadConfig } from "./config.ts";
import { lockDir } from "./lock_dir.ts";
import { configureLogging } from "./logging.ts";

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
  const config = await loadConfig(args);
  const rt = createRuntime({ mount: config.mount });
  await spoolReady(rt, config, args.config ?? process.env.TIERMV_CONFIG);
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
async function spoolReady(
  rt: ReturnType<typeof createRuntime>,
  config: Config,
  file: string | undefined,
): Promise<void> {
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

/** Takes a node's single-instance lock; null (with a message) when a healthy instance has it. */
async function tryNodeLock(ctx: JobContext, node: string) {
  try {
    const live = liveWithinMs(ctx.config);
    return await acquireInstanceLock(ctx.rt, ctx.config.spool, node, {
      liveWithinMs: live,
      dir: lockDir(),
    });
  } catch (err) {
    // A stuck holder (zombie, or silent for 6 heartbeats) is an error: exit 1 with its story.
    if (!(err instanceof AlreadyRunningError) || err.holder.stuck) throw err;
    consola.info(err.message);
    return null;
  }
}

/**
 * Runs `fn` holding the single-instance locks of `nodes`; nodes whose lock a healthy process
 * holds are left out (with a message). `fn` gets the nodes it may run. A node whose holder is
 * stuck is left out too, and its error is thrown after `fn` ran for the others.
 */
export async function withNodeLocks<T>(
  ctx: JobContext,
  nodes: string[],
  fn: (mine: string[]) => Promise<T>,
): Promise<T | undefined> {
  const held: { node: string; release(): Promise<void> }[] = [];
  const stuck: AlreadyRunningError[] = [];
  try {
    for (const node of nodes) {
      try {
        const lock = await tryNodeLock(ctx, node);
        if (lock) held.push({ node, release: lock.release });
      } catch (err) {
        if (!(err instanceof AlreadyRunningError)) throw err;
        stuck.push(err);
      }
    }
    const result = held.length === 0 ? undefined : await fn(held.map((h) => h.node));
    const last = stuck.pop();
    for (const err of stuck) consola.error(err.message);
    if (last) throw last;
    return result;
  } finally {
    for (const h of held) await h.release();
  }
}

/**
 * Runs `fn` holding this node's single-instance lock (run, rollback and recover of one node
 * never overlap on a host). When a healthy instance holds it, says so and returns undefined; a
 * stuck one throws AlreadyRunningError (exit 1).
 */
export async function withNodeLock<T>(
  ctx: JobContext,
  node: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const lock = await tryNodeLock(ctx, node);
  if (!lock) return undefined;
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
