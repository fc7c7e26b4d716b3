/**
 * `tiermv remove` for one file (docs/tiering.md): delete the archived copy of a file that is
 * not released. Under flock and a held epoch: the current state must be `migrated` (a released
 * file's object is the only copy of its bytes: refused); the state `removed` is decided first, so
 * no counting state names the version when it goes (I2), then exactly that version is deleted.
 * Only on a versioned bucket: on an unversioned one a DELETE by key that lands late would remove
 * the key's next commit (docs/protocol-v2.md section 8), so remove refuses there. A crash between
 * the decision and the DELETE leaves the version as a stray, which `verify` lists.
 */
import type { FileJob, OpenFile } from "./file_job.ts";
import type { FileOutcome } from "./outcome.ts";
import type { State } from "./records.ts";
import { decideTier, revokedTier } from "./tier_decide.ts";
import { type TierHeld, withTierEpoch } from "./tier_file.ts";
import type { View } from "./view.ts";

export function removeFile(job: FileJob, path: string): Promise<FileOutcome> {
  return withTierEpoch(job, path, "remove", {
    before: async (file, view) => refusal(job, file, view),
    held: removeHeld,
  });
}

async function refusal(
  job: FileJob,
  file: OpenFile,
  view: Pick<View, "current">,
): Promise<FileOutcome | null> {
  const state = view.current?.state;
  const refused = (reason: string): FileOutcome => ({ kind: "refused", path: file.path, reason });
  if (!state || state.state === "removed") return refused("not migrated: nothing to remove");
  if (state.state === "released")
    return refused(
      `released: its object ${state.key} is the only copy of its bytes; restore it first`,
    );
  await job.target.open();
  if (job.target.fence !== "versioned" || !state.versionId)
    return refused(
      `remove needs a versioned bucket (and a state naming a version): on an unversioned one a late DELETE of ${state.key} could remove the key's next commit`,
    );
  return null;
}

async function removeHeld(held: TierHeld): Promise<FileOutcome> {
  const { job, file, view } = held;
  const early = await refusal(job, file, view);
  const state = view.current?.state as State;
  if (early) {
    const reason = early.kind === "refused" ? early.reason : early.kind;
    if (!(await decideTier(held, "refused", { error: reason }))) return revokedTier(held, "remove");
    return early;
  }
  const removed: State = { ...state, state: "removed" };
  if (!(await decideTier(held, "removed", { state: removed }))) return revokedTier(held, "remove");
  const versionId = state.versionId as string;
  await job.target.delete(state.key, versionId);
  return { kind: "removed", path: file.path, key: state.key, versionId, bytes: state.size };
}
