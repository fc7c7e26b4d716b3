/**
 * Retry tasks: files that were busy (locked by another attempt) or rolled back go back to the
 * node's own `pending/` in a small task with a not-before time, so they are retried later with
 * exponential backoff (base doubling, capped) instead of spinning.
 */
import type { Config } from "../context/config.ts";
import type { JobContext } from "../context/job_context.ts";
import { newTaskId } from "../util/ids.ts";
import type { NodeDirs } from "./layout.ts";
import { publishTask, readTaskHeader, type TaskHeader } from "./task_file.ts";

export const RETRY_PREFIX = "r";

export function backoffMs(config: Config, retry: number): number {
  const { busyBaseMs, busyMaxMs } = config.retry;
  return Math.min(busyMaxMs, busyBaseMs * 2 ** Math.min(retry, 30));
}

export async function publishRetryTask(
  ctx: JobContext,
  dirs: NodeDirs,
  spec: {
    requestId: string;
    target: string;
    paths: string[];
    retry: number;
    reason: string;
    busySince?: number;
  },
): Promise<string> {
  const id = newTaskId(RETRY_PREFIX);
  const header: TaskHeader = {
    v: 1,
    id,
    requestId: spec.requestId,
    createdAt: new Date().toISOString(),
    target: spec.target,
    options: {
      notBefore: Date.now() + backoffMs(ctx.config, spec.retry),
      retry: spec.retry + 1,
      reason: spec.reason,
      ...(spec.busySince !== undefined ? { busySince: spec.busySince } : {}),
    },
  };
  await publishTask(ctx.rt, header, spec.paths, {
    tmpDir: dirs.tmp,
    finalPath: `${dirs.pending}/${id}.task`,
  });
  return id;
}

/** True when a pending task may be claimed now (retry tasks carry a not-before time). */
export async function isDue(
  ctx: JobContext,
  dirs: NodeDirs,
  name: string,
  now = Date.now(),
): Promise<boolean> {
  if (!name.startsWith(RETRY_PREFIX)) return true;
  try {
    const header = await readTaskHeader(ctx.rt, `${dirs.pending}/${name}`);
    return (header.options.notBefore ?? 0) <= now;
  } catch {
    // Gone (claimed elsewhere) or unreadable: let the claim path decide, where errors are handled.
    return true;
  }
}
