/**
 * The rollback job: processes the node's failed-files journal from its cursor. For each failed
 * attempt it deletes the attempt's own object unless a committed state names the key, removes
 * the attempt's lock, and sends the file back to a retry task (with backoff) until it has failed
 * `retry.maxFailedAttempts` times. The cursor advances only after a batch is fully handled, so a
 * crash replays lines, and every step of a replay is a no-op. Never deletes a committed object (I2).
 */
import type { JobContext } from "./context/job_context.ts";
import { rollbackEntry } from "./file/rollback_entry.ts";
import { readJournal, readJournalCursor, writeJournalCursor } from "./spool/journal.ts";
import type { NodeDirs } from "./spool/layout.ts";
import { publishRetryTask } from "./spool/retry_task.ts";
import { TargetError } from "./targets/target.ts";

export interface RollbackSummary {
  processed: number;
  deleted: number;
  released: number;
  retried: number;
  exhausted: number;
  invalid: number;
  /** Set when the target could not be reached: the rest waits for the next run. */
  blocked?: string;
}

const BATCH = 200;

export async function rollbackNode(ctx: JobContext, dirs: NodeDirs): Promise<RollbackSummary> {
  const summary: RollbackSummary = {
    processed: 0,
    deleted: 0,
    released: 0,
    retried: 0,
    exhausted: 0,
    invalid: 0,
  };
  let cursor = await readJournalCursor(ctx.rt, dirs);
  // Retries grouped by request and target, published before the cursor moves past them.
  let retries = new Map<
    string,
    { requestId: string; target: string; tries: number; paths: string[] }
  >();
  let handledUpTo = cursor;

  const commit = async () => {
    for (const group of retries.values()) {
      await publishRetryTask(ctx, dirs, {
        requestId: group.requestId,
        target: group.target,
        paths: group.paths,
        retry: group.tries,
        reason: "rolled back",
      });
      summary.retried += group.paths.length;
    }
    retries = new Map();
    if (handledUpTo !== cursor) {
      await writeJournalCursor(ctx.rt, dirs, handledUpTo);
      cursor = handledUpTo;
    }
  };

  for await (const item of readJournal(ctx.rt, dirs, cursor)) {
    if (ctx.signal?.aborted) break;
    if ("error" in item) {
      summary.invalid++;
      ctx.log.error(`Skipping line ${item.line} of ${dirs.journal}: ${item.error}`);
    } else {
      const entry = item.entry;
      let result: Awaited<ReturnType<typeof rollbackEntry>>;
      try {
        result = await rollbackEntry(ctx, entry);
      } catch (err) {
        if (!(err instanceof TargetError)) throw err;
        // The lock stays held until the object can be checked: nothing unsafe can happen meanwhile.
        summary.blocked = err.message;
        ctx.log.warn(`Rollback paused at line ${item.line} of ${dirs.journal}: ${err.message}`);
        break;
      }
      summary.processed++;
      if (result.deletedObject) summary.deleted++;
      if (result.releasedLock) summary.released++;
      if (result.needsRetry && entry.tries < ctx.config.retry.maxFailedAttempts) {
        const groupKey = `${entry.requestId}\n${entry.target}\n${entry.tries}`;
        const group = retries.get(groupKey) ?? {
          requestId: entry.requestId,
          target: entry.target,
          tries: entry.tries,
          paths: [],
        };
        group.paths.push(entry.path);
        retries.set(groupKey, group);
      } else if (result.needsRetry) {
        summary.exhausted++;
        ctx.log.error(
          `Giving up on "${entry.path}" after ${entry.tries} failed attempts: ${entry.error}`,
        );
      }
    }
    handledUpTo = item.line;
    if (handledUpTo - cursor >= BATCH) await commit();
  }
  await commit();
  return summary;
}
