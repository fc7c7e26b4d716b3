/**
 * Failure isolation for one file (BRIEF 5b): an error is this file's unless a probe shows it is
 * not. After an error that could be mount-wide, stat the source root (through the mount pool,
 * bounded by its deadline); after one that could be target-wide, `target.probe()` (HEAD the
 * bucket, PUT and DELETE a probe key). Only a failed probe stops the tick, by throwing
 * MountDownError or TargetUnavailableError; otherwise the file's outcome is `error`, with the
 * cause, and the task goes on. Which error is which: failure_scope.ts.
 */

import { FsError, XattrError } from "../../runtime/errors.ts";
import { TargetUnavailableError } from "../targets/target.ts";
import { describeError, errnoInWords, MountDownError } from "../util/errors.ts";
import { failureCode, failureScope } from "./failure_scope.ts";
import type { FileJob } from "./file_job.ts";
import type { FileOutcome } from "./outcome.ts";

/**
 * The outcome for an error met while migrating `path`: `error` when the error is this file's
 * (or its probe passed). Throws the error itself for a failure of the program, and
 * MountDownError or TargetUnavailableError when the probe failed.
 */
export async function isolateFailure(
  job: FileJob,
  path: string,
  err: unknown,
): Promise<FileOutcome> {
  const scope = failureScope(err);
  if (scope === "program" || scope === "target-down") throw err;
  if (scope === "mount") await probeMount(job, err);
  if (scope === "target") await probeTarget(job, err);
  const code = failureCode(err);
  return { kind: "error", path, error: errorInWords(err), ...(code ? { code } : {}) };
}

/** "is not accessible: operation not permitted (Cannot write xattr ...: EPERM)". */
function errorInWords(err: unknown): string {
  if (err instanceof FsError || err instanceof XattrError)
    return `${errnoInWords(err)} (${err.message})`;
  return describeError(err);
}

/** Stats the source root; throws MountDownError when that fails too. */
export async function probeMount(job: FileJob, first: unknown): Promise<void> {
  try {
    await job.rt.fs.stat(job.config.root);
  } catch (err) {
    const why = { first: describeError(first), probe: describeError(err) };
    throw new MountDownError(job.config.root, why, { cause: err });
  }
}

/** Probes the job's target: throws its TargetUnavailableError when the target is down. */
export async function probeTarget(job: FileJob, first: unknown): Promise<void> {
  try {
    await job.target.probe();
  } catch (err) {
    if (err instanceof TargetUnavailableError)
      job.log.warn(`The target's probe failed after: ${describeError(first)}`);
    throw err;
  }
}
