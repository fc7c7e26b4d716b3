/**
 * The rollback job: cleans the node's failed epochs (docs/protocol-v2.md section 6). It reads
 * the failed-files journal from its cursor and, for each line, cleans the epoch it names (only
 * that attempt's versions and upload ids), creates `c.<n>` and sends the file back to a retry task
 * (with backoff) until it has failed `retry.maxFailedAttempts` times. A cleanup that must wait
 * for the late-write window is kept in `windows/` with its clock reading and finished by a later
 * run, so it never holds back the lines behind it. The cursor advances only after a batch is
 * handled, so a crash replays lines, and every step of a replay is a no-op. A torn line (a crash
 * during an append) is reported and skipped: its epoch is still held and found again by this
 * node's migrate (resolution of its own dead attempt). Never deletes a committed object (I2).
 */

import { errorCode, FsError, XattrError } from "../runtime/errors.ts";
import type { JobContext } from "./context/job_context.ts";
import { type RollbackResult, rollbackEntry } from "./file/rollback_entry.ts";
import {
  type JournalEntry,
  readJournal,
  readJournalCursor,
  writeJournalCursor,
} from "./spool/journal.ts";
import type { NodeDirs } from "./spool/layout.ts";
import { publishRetryTask } from "./spool/retry_task.ts";
import { forgetWindow, waitingCleanups } from "./spool/windows.ts";
import { TargetError } from "./targets/target.ts";

export interface RollbackSummary {
  processed: number;
  /** Epochs cleaned (`c.<n>` created) by this run. */
  cleaned: number;
  /** Object versions of failed attempts deleted (versioned buckets only). */
  deleted: number;
  /** Cleanups waiting for the late-write window. */
  waiting: number;
  retried: number;
  exhausted: number;
  /** Lines that are not entries (unknown fields, protocol v1 lines): need an operator. */
  invalid: number;
  /** Fragments of torn writes (a crash during an append), skipped. */
  torn: number;
  /** Lines whose file moved or vanished (reported; the held epoch stays with its inode). */
  moved: number;
  /** Set when the target could not be reached: the rest waits for the next run. */
  blocked?: string;
}

const BATCH = 200;

/** errno names of a file this process may not write now (immutable, not ours, read-only). */
const UNWRITABLE = new Set(["EPERM", "EACCES", "EROFS"]);

/**
 * Why the rollback stops at this line and waits for a later run, or null (a failure of the
 * program: thrown). An unreachable target, or a file that cannot be written (chattr +i, another
 * owner, a read-only mount): its cleanup marks cannot be written, so the line waits.
 */
function pauseReason(err: unknown, entry: JournalEntry): string | null {
  if (err instanceof TargetError) return err.message;
  return unwritableReason(err, `the cleanup of "${entry.path}"`, "rollback");
}

/**
 * For a write this process may not make (EPERM, EACCES, EROFS): what failed and what to do, for
 * the path the refused call named (a source file, or a file of the spool); null for other errors.
 */
export function unwritableReason(err: unknown, what: string, rerun: string): string | null {
  const code = errorCode(err);
  if (code === undefined || !UNWRITABLE.has(code)) return null;
  const path = err instanceof FsError || err instanceof XattrError ? `"${err.path}"` : "the file";
  const fix =
    code === "EROFS"
      ? `the filesystem holding ${path} is mounted read-only: remount it read-write`
      : code === "EACCES"
        ? `this user may not write ${path}: check its owner and mode, and its directory's`
        : `${path} may be immutable or append-only (lsattr): chattr -i (or -a) it`;
  return `${(err as Error).message} (${what} was refused a write: ${fix}, then run ${rerun} again)`;
}

type Retries = Map<string, { requestId: string; target: string; tries: number; paths: string[] }>;

export async function rollbackNode(ctx: JobContext, dirs: NodeDirs): Promise<RollbackSummary> {
  const summary: RollbackSummary = {
    processed: 0,
    cleaned: 0,
    deleted: 0,
    waiting: 0,
    retried: 0,
    exhausted: 0,
    invalid: 0,
    torn: 0,
    moved: 0,
  };
  let retries: Retries = new Map();
  const publish = async () => {
    for (const group of retries.values()) {
      await publishRetryTask(ctx, dirs, { ...group, retry: group.tries, reason: "rolled back" });
      summary.retried += group.paths.length;
    }
    retries = new Map();
  };
  /** Handles one line's result; false to stop this run here (the line is retried later). */
  const handle = async (entry: JournalEntry, where: string): Promise<boolean> => {
    let result: RollbackResult;
    try {
      result = await rollbackEntry(ctx, dirs, entry);
    } catch (err) {
      const why = pauseReason(err, entry);
      if (why === null) throw err;
      // The epoch stays held until its cleanup can run: nothing unsafe can happen meanwhile.
      summary.blocked = why;
      ctx.log.warn(`Rollback paused at ${where}: ${why}`);
      return false;
    }
    if (result.status === "later") return false;
    summary.processed++;
    summary.deleted += result.deleted;
    if (result.status === "cleaned") summary.cleaned++;
    if (result.status === "waiting") summary.waiting++;
    if (result.status === "moved") {
      summary.moved++;
      ctx.log.warn(`Rollback of "${entry.path}" (${where}): ${result.detail}`);
    }
    if (result.status !== "waiting") retryLater(ctx, retries, summary, entry, result);
    return true;
  };

  // Cleanups whose late-write window has passed since the reading kept with them.
  const { waiting, unreadable } = await waitingCleanups(ctx.rt, dirs);
  for (const name of unreadable) ctx.log.error(`Unreadable ${dirs.windows}/${name}: skipped`);
  summary.invalid += unreadable.length;
  for (const w of waiting) {
    if (Date.now() < w.since + ctx.config.s3.lateWriteWindowMs || ctx.signal?.aborted) continue;
    if (!(await handle(w.entry, `the window of "${w.entry.path}"`))) continue;
    await forgetWindow(ctx.rt, dirs, w.entry);
  }
  summary.waiting = 0; // counted again below, for what still waits after this run

  let cursor = await readJournalCursor(ctx.rt, dirs);
  let handledUpTo = cursor;
  const commit = async () => {
    await publish();
    if (handledUpTo !== cursor) {
      await writeJournalCursor(ctx.rt, dirs, handledUpTo);
      cursor = handledUpTo;
    }
  };
  for await (const item of readJournal(ctx.rt, dirs, cursor)) {
    if (ctx.signal?.aborted) break;
    if ("error" in item) {
      if (item.torn) summary.torn++;
      else summary.invalid++;
      const log = item.torn ? ctx.log.warn : ctx.log.error;
      log(`Skipping line ${item.line} of ${dirs.journal}: ${item.error}`);
    } else {
      if (item.torn) {
        summary.torn++;
        ctx.log.warn(
          `Line ${item.line} of ${dirs.journal} starts with a torn fragment: skipped it`,
        );
      }
      if (!(await handle(item.entry, `line ${item.line} of ${dirs.journal}`))) break;
    }
    handledUpTo = item.line;
    if (handledUpTo - cursor >= BATCH) await commit();
  }
  await commit();
  summary.waiting = (await waitingCleanups(ctx.rt, dirs)).waiting.length;
  return summary;
}

function retryLater(
  ctx: JobContext,
  retries: Retries,
  summary: RollbackSummary,
  entry: JournalEntry,
  result: RollbackResult,
): void {
  // An interrupted attempt (graceful stop) is no failure: its task, back in pending/, visits it.
  if (!result.needsRetry || entry.interrupted) return;
  if (entry.tries >= ctx.config.retry.maxFailedAttempts) {
    summary.exhausted++;
    ctx.log.error(
      `Giving up on "${entry.path}" after ${entry.tries} failed attempts: ${entry.error}`,
    );
    return;
  }
  const key = `${entry.requestId}\n${entry.target}\n${entry.tries}`;
  const group = retries.get(key) ?? {
    requestId: entry.requestId,
    target: entry.target,
    tries: entry.tries,
    paths: [],
  };
  if (!group.paths.includes(entry.path)) group.paths.push(entry.path);
  retries.set(key, group);
}
