/**
 * The per-file protocol v2 (docs/protocol-v2.md; docs/design.md section 3): open the file once
 * (O_NOFOLLOW | O_NONBLOCK | O_NOATIME, regular files only), then everything on that descriptor:
 * view -> (busy, or resolve our own dead attempt, or clean our own failed epoch) -> take epoch
 * max + 1 -> upload -> verify -> decide -> GC (attempt.ts). Outcomes are values; a failed epoch
 * is journalled and stays held for the rollback job (never rolled back here).
 */
import { attemptEpoch } from "./attempt.ts";
import { cleanExtraVersions } from "./extra_versions.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { settleHold } from "./held.ts";
import { skippedFor } from "./held_epoch.ts";
import { isolateFailure } from "./isolate.ts";
import { notRegular, withOpenFile } from "./open_file.ts";
import { busy, type FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";
import { stubDecision } from "./stub.ts";
import { isCommitFor, readView, type View } from "./view.ts";
import { XattrPayloadError } from "./xattr_record.ts";

export type { FileJob } from "./file_job.ts";

/** Views to settle a held file before giving up as busy (someone decided meanwhile). */
const ROUNDS = 3;

/**
 * Migrates one file. An error of this file alone is its outcome `error` (isolate.ts); throws
 * MountDownError or TargetUnavailableError when a probe shows the mount or the target down
 * (the tick stops), and failures of the program.
 */
export async function migrateFile(job: FileJob, path: string): Promise<FileOutcome> {
  try {
    return await migratePath(job, path);
  } catch (err) {
    return await isolateFailure(job, path, err);
  }
}

async function migratePath(job: FileJob, path: string): Promise<FileOutcome> {
  const look = { look: true } as const;
  return await withOpenFile(job, path, "read", (file) => migrateOpen(job, file), look);
}

async function migrateOpen(job: FileJob, file: OpenFile): Promise<FileOutcome> {
  // Step 1's fstat and the first view's flistxattr were made with the open (one hand-off).
  const { opened } = file.handle;
  const stat = await (opened ? opened.stat() : file.handle.stat());
  const refused = notRegular(file.path, stat);
  if (refused) return refused;
  const identity = { key: file.key, target: job.target.url, stat };
  for (let round = 0; round < ROUNDS; round++) {
    const listed = round === 0 && opened?.names ? await opened.names() : undefined;
    const view = await viewOrReject(file, listed);
    if (!("names" in view)) return view;
    // A stub's own decision needs no store; one with bytes is compared under the epoch, after
    // the hold's rules (a restore under way is busy, not refused).
    const stub = stubDecision(job, file, view.current?.state, stat);
    if (stub && stub !== "compare") return stub;
    if (isCommitFor(view.current?.state, identity)) {
      await afterResume(job, view.current);
      return skippedFor(file.path, view.current.state, job.task.id);
    }
    const settled = await settleHold(job, file, view);
    if (settled.kind === "done") return settled.outcome;
    if (settled.kind === "go") return await attemptEpoch(job, file, view.max + 1);
  }
  return busy(file.path, "its epochs kept being decided by others meanwhile");
}

/** The view; an unreadable outcome or v1 state makes the file `rejected` (left as it is). */
async function viewOrReject(file: OpenFile, listed?: string[]): Promise<View | FileOutcome> {
  try {
    return await readView(file.handle, listed);
  } catch (err) {
    if (err instanceof XattrPayloadError)
      return { kind: "rejected", path: file.path, error: err.message };
    throw err;
  }
}

/**
 * A file this very task committed is visited again only after a resume (a crash or a stop):
 * the commit's extra versions, if the crash came before their deletion, go now.
 */
async function afterResume(job: FileJob, current: { epoch: number; state: State }) {
  const { state, epoch } = current;
  if (state.task !== job.task.id || state.versionId === undefined) return;
  const { key, versionId, attempt, ino } = state;
  await cleanExtraVersions(job, { key, versionId, attempt, epoch, ino });
}
