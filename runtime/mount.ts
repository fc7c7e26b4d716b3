/**
 * The shared-mount half of a Runtime, the same in Bun and Deno: a pool of worker threads (one per
 * process for each setting of deadline, bound and size) and the APIs built on it.
 */
import { openFile } from "./file_handle.ts";
import { mountFs, mountHashes, mountXattr } from "./mount_fs.ts";
import { MountPool, type WorkerPort } from "./mount_pool.ts";
import type { Runtime } from "./types.ts";

/** How calls on the shared mount are bounded (config `mount.*`). */
export interface MountOptions {
  /** Deadline of every call on the shared mount, ms (default 10,000). */
  timeoutMs?: number;
  /** Abandoned threads at which every call fails fast until one returns (default 4). */
  maxStuckThreads?: number;
  /** Worker threads serving calls, started on demand (default 4). */
  threads?: number;
}

export interface RuntimeOptions {
  mount?: MountOptions;
}

export const MOUNT_DEFAULTS = { timeoutMs: 10_000, maxStuckThreads: 4, threads: 4 } as const;

const pools = new Map<string, MountPool>();

/**
 * The process's pool for these settings: runtimes created with the same settings share one, so
 * the bound on stuck threads holds per process and tests that make many runtimes make one pool.
 */
function sharedPool(options: MountOptions | undefined, spawn: () => WorkerPort): MountPool {
  const settings = { ...MOUNT_DEFAULTS, ...options };
  const key = `${settings.timeoutMs}/${settings.maxStuckThreads}/${settings.threads}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new MountPool({ ...settings, spawn });
    pools.set(key, pool);
  }
  return pool;
}

type MountParts = Pick<
  Runtime,
  "fs" | "xattr" | "openFile" | "mountStatus" | "md5File" | "md5Range"
>;

export function mountRuntime(
  options: MountOptions | undefined,
  spawn: () => WorkerPort,
): MountParts {
  const pool = sharedPool(options, spawn);
  return {
    fs: mountFs(pool),
    xattr: mountXattr(pool),
    openFile: (path, options) => openFile(pool, path, options),
    mountStatus: () => pool.status(),
    ...mountHashes(pool),
  };
}
