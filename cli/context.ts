/**
 * Builds a job context for a command: the config (validated, root and spool resolved), the spool
 * checked for its marker (`tiermv init`), a runtime and a signal that SIGINT/SIGTERM abort.
 * Errors propagate to cli/run_cli.ts, the one place that turns them into a line and an exit code.
 */
import { consola } from "consola";
import { assertKnownNode, type Config } from "../jobs/context/config.ts";
import { AlreadyRunningError, acquireInstanceLock } from "../jobs/context/instance_lock.ts";
import { closeTargets, createJobContext, type JobContext } from "../jobs/context/job_context.ts";
import { checkSpool } from "../jobs/spool/marker.ts";
import { deadline } from "../jobs/util/async.ts";
import { MountUnavailableError } from "../jobs/util/errors.ts";
import { createRuntime } from "../runtime/bun.ts";
import { loadConfig } from "./config.ts";
import { configureLogging } from "./logging.ts";

export interface CommonArgs {
  config?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/** Runs `fn` with a context; every target is closed afterwards. */
export async function withContext<T>(
  args: CommonArgs,
  fn: (ctx: JobContext) => Promise<T>,
): Promise<T> {
  configureLogging(args);
  const config = await loadConfig(args);
  const rt = createRuntime();
  await spoolReady(rt, config, args.config ?? process.env.TIERMV_CONFIG);
  const controller = new AbortController();
  // The signal's name is the abort reason, so a command can say why it stopped.
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
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

/** The spool's marker check, bounded like every other look at the shared mount. */
async function spoolReady(
  rt: ReturnType<typeof createRuntime>,
  config: Config,
  file: string | undefined,
): Promise<void> {
  const ms = config.migrate.statTimeoutMs;
  await deadline(checkSpool(rt, config.spool, file), ms, {
    onTimeout: () => new MountUnavailableError(config.spool, ms),
  });
}

/** withContext for a command that acts for one node, which the config must name. */
export function withNodeContext(
  args: CommonArgs & { node: string },
  fn: (ctx: JobContext, node: string) => Promise<void>,
): Promise<void> {
  return withContext(args, async (ctx) => {
    assertKnownNode(ctx.config, args.node);
    await fn(ctx, args.node);
  });
}

/**
 * Runs `fn` holding the single-instance locks of `nodes`; nodes whose lock another process
 * holds are left out (with a message). `fn` gets the nodes it may run.
 */
export async function withNodeLocks<T>(
  ctx: JobContext,
  nodes: string[],
  fn: (mine: string[]) => Promise<T>,
): Promise<T | undefined> {
  const held: { node: string; release(): Promise<void> }[] = [];
  try {
    for (const node of nodes) {
      try {
        const lock = await acquireInstanceLock(ctx.rt, ctx.config.spool, node);
        held.push({ node, release: lock.release });
      } catch (err) {
        if (!(err instanceof AlreadyRunningError)) throw err;
        consola.info(err.message);
      }
    }
    if (held.length === 0) return undefined;
    return await fn(held.map((h) => h.node));
  } finally {
    for (const h of held) await h.release();
  }
}

/**
 * Runs `fn` holding this node's single-instance lock (run, rollback and recover of one node
 * never overlap on a host). When another instance holds it, says so and returns undefined.
 */
export async function withNodeLock<T>(
  ctx: JobContext,
  node: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  let lock: Awaited<ReturnType<typeof acquireInstanceLock>>;
  try {
    lock = await acquireInstanceLock(ctx.rt, ctx.config.spool, node);
  } catch (err) {
    if (!(err instanceof AlreadyRunningError)) throw err;
    consola.info(err.message);
    return undefined;
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
