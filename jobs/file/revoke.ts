/**
 * Revocation of an epoch held by a node that is lost, or only seems lost (`recover --node N`,
 * docs/protocol-v2.md section 7): decide `e.<n> = revoked` on its behalf with XATTR_CREATE, then
 * hand the epoch to N's rollback (a journal line in N's journal), which cleans it (on a
 * window-fenced bucket `c.<n>` waits the window from the cleaner's reading after the decision).
 * Nothing is removed first: a holder that is alive but paused later fails to decide (EEXIST) and
 * reports `revoked`; its late writes are refused by its guard (`e.<n>` exists) or, already sent,
 * fenced by the store (a version, an aborted upload id, or the window). An unreadable take record
 * is revoked once it is stale (older than `retry.unreadableLockGraceMs`, by the file's ctime).
 * The upload ids are read after the decision: either a recorded id is aborted by the cleanup, or
 * the attempt's own check, which follows its record, sees the revocation.
 */
import type { JobContext } from "../context/job_context.ts";
import { appendJournal, newJournalEntry } from "../spool/journal.ts";
import { nodeDirs } from "../spool/layout.ts";
import { uploadIdsOf } from "../spool/uploads.ts";
import { decide } from "./decide.ts";
import { isStaleUnreadable } from "./liveness.ts";
import { lookAtFile } from "./open_file.ts";
import { newOutcome } from "./records.ts";
import { readView } from "./view.ts";

export type Revocation = "revoked" | "not-held";

/** Revokes the epoch `node` holds on `path` (the file of one of its running task's entries). */
export async function revokeHeld(
  ctx: JobContext,
  node: string,
  entry: { path: string; key: string; target: string; requestId: string; tries: number },
): Promise<Revocation> {
  const looked = await lookAtFile(ctx.rt, entry.path, async (handle): Promise<Revocation> => {
    const stat = await handle.stat();
    if (stat.kind !== "file") return "not-held";
    const { hold } = await readView(handle);
    if (hold.kind !== "undecided") return "not-held";
    const { n, take } = hold;
    if (
      take ? take.node !== node : !isStaleUnreadable(stat, ctx.config.retry.unreadableLockGraceMs)
    )
      return "not-held";
    const attempt = take?.attempt ?? "";
    const error = `revoked by recover of node ${node}`;
    const by = { node, role: "revoker" as const };
    // EEXIST: decided meanwhile (by the holder, or another revoker): the journal line is then
    // harmless (rollback does nothing for a committed or clean epoch, cleans a failed one).
    await decide(handle, newOutcome({ n, attempt, outcome: "revoked", by, error }));
    const dirs = nodeDirs(ctx.config.spool, node);
    const line = newJournalEntry({
      path: entry.path,
      ino: stat.ino,
      epoch: n,
      attempt,
      key: take?.key ?? entry.key,
      target: take?.target ?? entry.target,
      uploadIds: await uploadIdsOf(ctx.rt, dirs, attempt),
      node,
      task: take?.task ?? "",
      requestId: entry.requestId,
      error,
      tries: entry.tries,
    });
    await appendJournal(ctx.rt, dirs, line);
    return "revoked";
  });
  return looked ?? "not-held";
}
