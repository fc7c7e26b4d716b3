/**
 * Bounds the chunk buffers of the restores one process runs at once: each restore holds up to
 * one chunk (8 MiB) from its first GET to the end of its copy, and at `migrate.concurrency` 32
 * large files that was 32 chunks, 256 MiB more than 4 files (bench/results/2026-11-28-tier.md).
 * The budget is `s3.maxBufferBytes` (64 MiB: 8 large files at once), the bound uploads use too;
 * a small file takes only its size, so small files still run `migrate.concurrency` at once.
 */
import type { Config } from "../context/config.ts";
import { BufferBudget } from "../targets/buffer_budget.ts";
import { RESTORE_CHUNK } from "./restore_range.ts";

/** One budget per process (per loaded config): every task's restores share it. */
const budgets = new WeakMap<Config, BufferBudget>();

/**
 * Runs `copy` once the restore's chunk fits in the process's budget; gives it back after.
 * "stopped": `signal` (the stop) came while it waited, before anything was read or written.
 */
export async function withRestoreBuffer<T>(
  config: Config,
  size: number,
  signal: AbortSignal | undefined,
  copy: () => Promise<T>,
): Promise<T | "stopped"> {
  let budget = budgets.get(config);
  if (!budget) {
    budget = new BufferBudget(Math.max(config.s3.maxBufferBytes, RESTORE_CHUNK));
    budgets.set(config, budget);
  }
  const bytes = Math.min(RESTORE_CHUNK, size);
  try {
    await budget.reserve(bytes, signal);
  } catch (err) {
    if (signal?.aborted) return "stopped";
    throw err;
  }
  try {
    return await copy();
  } finally {
    budget.unreserve(bytes);
  }
}
