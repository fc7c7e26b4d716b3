/**
 * The decisions a holder of epoch n makes (docs/protocol-v2.md section 4): every one is a
 * create of `e.<n>` (XATTR_CREATE) followed by the holder's GC; EEXIST means someone decided
 * for it (recover): the outcome is `revoked` and nothing more is written. A failure is journalled
 * first, then decided `failed`: the epoch stays held until the rollback job cleans it.
 */
import type { FileStat } from "../../runtime/types.ts";
import { forgetUploads } from "../spool/uploads.ts";
import { crashPoint } from "../util/crash_points.ts";
import { decideAsHolder } from "./decide.ts";
import type { EpochGuard } from "./epoch_guard.ts";
import { type FileJob, journalFailure, type OpenFile } from "./file_job.ts";
import type { FileOutcome } from "./outcome.ts";
import { type EpochOutcome, newOutcome, type State } from "./records.ts";

/** The attempt once it holds epoch n. */
export interface Held {
  job: FileJob;
  file: OpenFile;
  n: number;
  attempt: string;
  /** The fstat after the take: what the commit records. */
  locked: FileStat;
  /** A small file's body, read with that fstat (upload.ts), or null. */
  head: Uint8Array | null;
  guard: EpochGuard;
}

/** Decides an outcome without a state; EEXIST means revoked. */
export async function settle(
  held: Held,
  outcome: EpochOutcome,
  result: () => FileOutcome,
  extra: { error?: string; ambiguous?: boolean } = {},
): Promise<FileOutcome> {
  const { job, file, n, attempt } = held;
  const record = newOutcome({ n, attempt, outcome, by: holder(job), ...extra });
  const decided = await decideAsHolder(file.handle, record);
  if (!decided.decided) return revoked(held, "recover decided this epoch first");
  // A single PUT records nothing: no call on the spool in the common case. An epoch that waits
  // for its cleanup (failed, interrupted) keeps its record: the cleanup aborts what it names,
  // also when it starts from the epoch itself rather than its journal line (held.ts).
  if (outcome !== "failed" && outcome !== "interrupted" && held.guard.uploadIds.length > 0)
    await forgetUploads(job.rt, job.dirs, attempt);
  return result();
}

/** Journal, then decide `failed`: the epoch stays held until the rollback job cleans it. */
export async function fail(held: Held, error: string, ambiguous: boolean): Promise<FileOutcome> {
  const { job, file, attempt } = held;
  await journalEpoch(held, error);
  crashPoint(job.rt, "after-journal");
  return await settle(
    held,
    "failed",
    () => ({
      kind: "failed",
      path: file.path,
      key: file.key,
      attempt,
      error,
      ...(ambiguous ? { ambiguous } : {}),
    }),
    { error, ambiguous },
  );
}

/**
 * A graceful stop aborted the upload: journal once (marked interrupted), decide `interrupted`
 * (cleaned like a failure, ambiguous on an unversioned bucket with the window fence: the cut
 * write may still land), never counted against retry.maxFailedAttempts.
 */
export async function interrupt(
  held: Held,
  error: string,
  ambiguous: boolean,
): Promise<FileOutcome> {
  const { file, attempt } = held;
  await journalEpoch(held, `interrupted by a stop: ${error}`, true);
  return await settle(
    held,
    "interrupted",
    () => ({ kind: "interrupted", path: file.path, key: file.key, attempt }),
    { error, ambiguous },
  );
}

function journalEpoch(held: Held, error: string, interrupted?: true) {
  const { job, file, n, attempt, locked, guard } = held;
  return journalFailure(job, {
    path: file.path,
    ino: locked.ino,
    epoch: n,
    attempt,
    key: file.key,
    target: job.target.url,
    uploadIds: guard.uploadIds,
    error,
    ...(interrupted ? { interrupted } : {}),
  });
}

export function revoked(held: Held, error: string): FileOutcome {
  const { file, attempt } = held;
  return { kind: "revoked", path: file.path, key: file.key, attempt, error };
}

/** A file already committed for this run: `ownTask` when this very task committed it. */
export function skippedFor(path: string, state: State, taskId: string): FileOutcome {
  const { key, etag, size: bytes, attempt } = state;
  return { kind: "skipped", path, key, etag, bytes, attempt, ownTask: state.task === taskId };
}

export const holder = (job: FileJob) => ({ node: job.node, role: "holder" as const });
