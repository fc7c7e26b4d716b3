/**
 * What release and restore share (docs/tiering.md): the file opened O_RDWR once, flock
 * (LOCK_EX|LOCK_NB) on that descriptor until it is closed (busy when another release or restore
 * holds it, on any node), the view, a held epoch settled as migrate settles it (an own dead
 * attempt resolved, an own failed epoch cleaned), then the take of `l.<n>` with the action and
 * the view after the take. Decisions are creates of `e.<n>` like every holder's, then GC.
 */
import { MountUnavailableError } from "../../runtime/errors.ts";
import type { StatWithXattr } from "../../runtime/types.ts";
import { describeError } from "../util/errors.ts";
import { newAttemptId } from "../util/ids.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { settleHold } from "./held.ts";
import { isolateFailure } from "./isolate.ts";
import { abandonAttempt } from "./liveness.ts";
import { notRegular, withOpenFile } from "./open_file.ts";
import { busy, type FileOutcome } from "./outcome.ts";
import { newTake, recordName, type TakeAction } from "./records.ts";
import { decideTier } from "./tier_decide.ts";
import { DECISIONS, readView, type View, viewAfterTake } from "./view.ts";
import { readNothingMore } from "./view_reads.ts";
import { createRecordThenListTop, XattrPayloadError } from "./xattr_record.ts";

/** An epoch held by a release or restore. */
export interface TierHeld {
  job: FileJob;
  file: OpenFile;
  n: number;
  attempt: string;
  /** The view after the take (without the hold: ours while n is max). */
  view: Omit<View, "hold">;
  /** TierSteps.mark's fstat and read, made with the take when they still stand there. */
  marked: Marked;
}

/**
 * An fstat and the read of TierSteps.mark made in the hand-off of the view's calls, right after
 * them; null when they were not, or when the view read more after them (then they would not be
 * where the caller makes them: it makes them itself).
 */
export type Marked = (() => Promise<StatWithXattr>) | null;

const ROUNDS = 3;

/**
 * Opens `path`, locks it, settles its hold, and runs `before` on the view (an early answer that
 * takes no epoch: nothing to do, or a refusal), then takes an epoch and runs `held` in it.
 */
export async function withTierEpoch(
  job: FileJob,
  path: string,
  action: Exclude<TakeAction, "migrate">,
  steps: TierSteps,
): Promise<FileOutcome> {
  try {
    return await tierEpoch(job, path, action, steps);
  } catch (err) {
    // One file's error is that file's outcome; a probe decides whether it is mount- or
    // target-wide (then the tick stops), as for migrate (isolate.ts).
    return await isolateFailure(job, path, err);
  }
}

interface TierSteps {
  /** An xattr that `before` and `held` read first, after an fstat (Marked). */
  mark?: string;
  before: (file: OpenFile, view: View, marked: Marked) => Promise<FileOutcome | null>;
  held: (held: TierHeld) => Promise<FileOutcome>;
}

async function tierEpoch(
  job: FileJob,
  path: string,
  action: Exclude<TakeAction, "migrate">,
  steps: TierSteps,
): Promise<FileOutcome> {
  // The open's hand-off makes the fstat, the flock and the view's listing and first read too
  // (docs/tiering.md, steps 1 and 2: the same calls in the same order).
  const look = { look: { lock: true, top: DECISIONS, mark: steps.mark } };
  return await withOpenFile(
    job,
    path,
    "readwrite",
    (file) => lockedEpoch(job, file, action, steps),
    look,
  );
}

async function lockedEpoch(
  job: FileJob,
  file: OpenFile,
  action: Exclude<TakeAction, "migrate">,
  steps: TierSteps,
): Promise<FileOutcome> {
  const { handle, path } = file;
  const opened = handle.opened;
  if (!opened) throw new Error(`Internal: ${path} was opened without its first look`);
  const refused = notRegular(path, await opened.stat());
  if (refused) return refused;
  if (!(await opened.locked?.()))
    return busy(path, "another release or restore (flock on the file)");
  for (let round = 0; round < ROUNDS; round++) {
    let view: View;
    let marked: Marked = null;
    try {
      // The first view from the open's listing and read; a view again after others decided.
      const listing =
        round === 0 && opened.names
          ? { names: await opened.names(), top: (await opened.top?.()) ?? null }
          : undefined;
      view = await readView(handle, listing);
      if (listing && readNothingMore(view, listing)) marked = opened.marked;
    } catch (err) {
      if (err instanceof XattrPayloadError) return { kind: "rejected", path, error: err.message };
      throw err;
    }
    const early = await steps.before(file, view, marked);
    if (early) return early;
    const settled = await settleHold(job, file, view);
    if (settled.kind === "done") return settled.outcome;
    if (settled.kind === "again") continue;
    const n = view.max + 1;
    const attempt = newAttemptId();
    const take = newTake({
      action,
      n,
      attempt,
      node: job.node,
      task: job.task.id,
      proc: job.rt.process.identity(),
      key: view.current?.state.key ?? file.key,
      target: job.target.url,
    });
    // The take, the listing after it and its first read, in one hand-off.
    const name = recordName("l", n);
    const listing = await createRecordThenListTop(handle, name, take, {
      top: DECISIONS,
      mark: steps.mark,
    });
    if (!listing) return busy(path, `epoch ${n} was just taken by another attempt`);
    let held: TierHeld | undefined;
    try {
      // Who holds the file is not read: we do while n is max (viewAfterTake).
      const after = await viewAfterTake(handle, listing);
      // A late re-creation of a garbage-collected epoch: abandon it (mutant-no-take-view).
      if (after.max !== n)
        return busy(path, `epoch ${n} was garbage-collected; max is ${after.max}`);
      const marked = readNothingMore(after, listing) ? (listing.marked ?? null) : null;
      held = { job, file, n, attempt, view: after, marked };
      return await steps.held(held);
    } catch (err) {
      await giveBack(held, attempt, err);
      throw err;
    }
  }
  return busy(path, "its epochs kept being decided by others meanwhile");
}

/**
 * After a failed call in a held epoch. A call that returned (an error status, an errno) left
 * nothing in flight: the epoch is decided `aborted` now, with the cause, as its resolution would
 * decide it later (a dead release or restore is `aborted`; restore took its bytes back out
 * first, restore_copy.ts), so that other processes do not find the file held until this one
 * comes back to it (tier.pml: the same as a crash and an immediate restart). A mount call past
 * its deadline may still land (this one, or any of the process's calls still stuck), and a
 * decision that cannot be written leaves it undecided: the attempt is abandoned, writing nothing
 * more, and the next visit resolves it as this node's own dead attempt once no call of the
 * process is stuck. An epoch already decided (a failed truncate after `released`) stays as it is.
 */
async function giveBack(held: TierHeld | undefined, attempt: string, err: unknown): Promise<void> {
  // Any call of this process still stuck on the mount (not only the one that failed here: a
  // write past its deadline whose cleanup then failed otherwise) may still land: not given back.
  const nothingInFlight = held?.job.rt.mountStatus().abandoned === 0;
  if (held && nothingInFlight && !(err instanceof MountUnavailableError)) {
    try {
      await decideTier(held, "aborted", { error: describeError(err) });
      return;
    } catch (decideErr) {
      // The decision could not be written (the mount failing too): abandoned, as below. The
      // error that goes up is the first one; the mount's state is the probe's to find.
      held.job.log.warn(
        `${held.file.path}: epoch ${held.n} left undecided (resolved at this node's next visit): ${describeError(decideErr)}`,
      );
    }
  }
  abandonAttempt(attempt);
}
