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

/** Takes a node's single-instance lock; null (with a message) when a healthy instance has it. */
async function tryNodeLock(ctx: JobContext, node: string) {
  try {
    const { liveWithinMs } = ctx.config.schedule;
    return await acquireInstanceLock(ctx.rt, ctx.config.spool, node, { liveWithinMs });
  } catch (err) {
    // A stuck holder (zombie, or silent past liveWithinMs) is an error: exit 1 with its story.
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
