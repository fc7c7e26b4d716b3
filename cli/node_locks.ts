/**
 * The single-instance locks of the nodes a command runs (run, rollback, recover): one local flock
 * per node and spool on this host (cli/lock_dir.ts, jobs/context/instance_lock.ts). The lock is
 * named by the spool as written in the config, so `run` takes it before anything touches the
 * shared mount: a second run next to one stuck in a hung mount names the stuck one, instead of
 * hanging (or failing) on the mount first.
 */
import { consola } from "consola";
import { type Config, liveWithinMs, lockSpoolOf } from "../jobs/context/config.ts";
import { AlreadyRunningError, acquireInstanceLock } from "../jobs/context/instance_lock.ts";
import type { Runtime } from "../runtime/types.ts";
import { lockDir } from "./lock_dir.ts";

/** Takes a node's single-instance lock; null (with a message) when a healthy instance has it. */
async function tryNodeLock(rt: Runtime, config: Config, node: string) {
  try {
    return await acquireInstanceLock(rt, lockSpoolOf(config), node, {
      liveWithinMs: liveWithinMs(config),
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
  rt: Runtime,
  config: Config,
  nodes: string[],
  fn: (mine: string[]) => Promise<T>,
): Promise<T | undefined> {
  const held: { node: string; release(): Promise<void> }[] = [];
  const stuck: AlreadyRunningError[] = [];
  try {
    for (const node of nodes) {
      try {
        const lock = await tryNodeLock(rt, config, node);
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
