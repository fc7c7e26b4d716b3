/**
 * One scheduler per node on a host: a local pid file created atomically (write aside, then link). A file left by a dead
 * process is replaced. (Two processes starting in the same instant over a stale file could both
 * proceed; that costs efficiency, never safety: files are still guarded by their xattr locks.)
 */
import type { Runtime } from "../../runtime/types.ts";
import { TiermvError } from "../util/errors.ts";
import { createAtomically } from "../util/stored_file.ts";

/** Another instance of this node's scheduler runs on this host. */
export class AlreadyRunningError extends TiermvError {
  constructor(message: string) {
    super("ALREADY_RUNNING", message);
  }
}

export interface InstanceLock {
  release(): Promise<void>;
}

function lockPath(rt: Runtime, spool: string, node: string): string {
  const dir = rt.process.env("TIERMV_LOCK_DIR") ?? rt.process.env("TMPDIR") ?? "/tmp";
  const tag = spool.replace(/[^A-Za-z0-9]+/g, "_").slice(-80);
  return `${dir}/tiermv-${tag}-${node}.pid`;
}

export async function acquireInstanceLock(
  rt: Runtime,
  spool: string,
  node: string,
): Promise<InstanceLock> {
  const path = lockPath(rt, spool, node);
  const mine = String(rt.process.pid);
  for (let tries = 0; tries < 2; tries++) {
    if (await createAtomically(rt, path, mine)) {
      return {
        release: async () => {
          const current = (await rt.fs.exists(path)) ? (await rt.fs.readText(path)).trim() : "";
          if (current === mine) await rt.fs.remove(path);
        },
      };
    }
    const holder = Number.parseInt((await rt.fs.readText(path)).trim(), 10);
    if (Number.isSafeInteger(holder) && holder !== rt.process.pid && rt.process.isAlive(holder)) {
      throw new AlreadyRunningError(
        `Node "${node}" is already running here (pid ${holder}, ${path})`,
      );
    }
    await rt.fs.remove(path);
  }
  throw new AlreadyRunningError(`Node "${node}": could not take ${path}`);
}
