/** Builds a job context for a command and turns known errors into one line and an exit code. */
import { consola } from "consola";
import { assertKnownNode } from "../jobs/context/config.ts";
import { AlreadyRunningError, acquireInstanceLock } from "../jobs/context/instance_lock.ts";
import { closeTargets, createJobContext, type JobContext } from "../jobs/context/job_context.ts";
import { describeError, exitCodeOf, isKnownError } from "../jobs/util/errors.ts";
import { createRuntime } from "../runtime/bun.ts";
import { loadConfig } from "./config.ts";
import { configureLogging } from "./logging.ts";

/** Runs `fn` with a context; every target is closed afterwards. */
export async function withContext<T>(
  args: { config?: string; quiet?: boolean; verbose?: boolean },
  fn: (ctx: JobContext) => Promise<T>,
): Promise<T> {
  configureLogging(args);
  const config = await loadConfig(args);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const ctx = createJobContext(
    createRuntime({ mount: config.mount }),
    config,
    consola,
    controller.signal,
  );
  try {
    return await fn(ctx);
  } finally {
    closeTargets(ctx);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** The one place that turns errors into exit codes: 2 for usage/config, 1 for failures. */
export async function guard(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    consola.error(describeError(err));
    // A bug, not an operator's problem: the stack only for --verbose, never in their face.
    if (!isKnownError(err)) consola.debug(err);
    process.exit(exitCodeOf(err));
  }
}

/** A command's body: guarded (errors become one line and an exit code), with a context. */
export function runWithContext(
  args: { config?: string; quiet?: boolean; verbose?: boolean },
  fn: (ctx: JobContext) => Promise<void>,
): Promise<void> {
  return guard(() => withContext(args, fn));
}

/** runWithContext for a command that acts for one node, which the config must name. */
export function runForNode(
  args: { config?: string; quiet?: boolean; verbose?: boolean; node: string },
  fn: (ctx: JobContext, node: string) => Promise<void>,
): Promise<void> {
  return runWithContext(args, async (ctx) => {
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
