/**
 * Failure isolation for one file (BRIEF 5b): an error is this file's unless a probe shows it is
 * not. After an error that could be mount-wide, stat the source root (through the mount pool,
 * bounded by its deadline); after one that could be target-wide, `target.probe()` (HEAD the
 * bucket, PUT and DELETE a probe key). Only a failed probe stops the tick, by throwing
 * MountDownError or TargetUnavailableError; otherwise the file's outcome is `error`, with the
 * cause, and the task goes on. Which error is which: failure_scope.ts.
 */

import { errorCode, FsError, MountUnavailableError, XattrError } from "../../runtime/errors.ts";
import { TargetUnavailableError } from "../targets/target.ts";
import { describeError, errnoInWords, MountDownError } from "../util/errors.ts";
import { failureCode, failureScope, WRITE_REFUSED_ERRNOS } from "./failure_scope.ts";
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
  if (scope === "mount-write") await probeMountWrite(job, err);
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

/** The attribute a write probe sets on the source root and removes again. */
const WRITE_PROBE = "user.tiermv.write-probe";

/**
 * As large as an epoch record (a few hundred bytes): a value that fits in the inode's own xattr
 * space (about 100 bytes on ext4 with 256-byte inodes) would need no free block and pass on a
 * full filesystem where the record's write was refused.
 */
function probeValue(node: string): Uint8Array {
  return new TextEncoder().encode(`${node} `.padEnd(512, "."));
}

/**
 * After a write refused for the space or a read-only filesystem: sets (then removes) an
 * attribute on the source root. Refused the same way, the whole mount refuses writes (read-only,
 * full): MountDownError, the tick stops and its task waits in pending/. Accepted, the refusal
 * was this file's (a directory's quota, a file of its own): the file's `error`. Any other
 * failure of the probe (no permission on the root) cannot tell: the file's `error` too.
 */
export async function probeMountWrite(job: FileJob, first: unknown): Promise<void> {
  const root = job.config.root;
  try {
    await job.rt.xattr.set(root, WRITE_PROBE, probeValue(job.node), "any");
    await job.rt.xattr.remove(root, WRITE_PROBE);
  } catch (err) {
    if (err instanceof MountUnavailableError) throw err; // past its deadline: the mount is down
    const code = errorCode(err);
    if (code === undefined || !WRITE_REFUSED_ERRNOS.has(code)) return;
    const why = {
      first: describeError(first),
      probe: `a write on ${root} is refused too: ${describeError(err)}`,
      advice:
        code === "EROFS"
          ? "The filesystem is read-only: remount it read-write (dmesg tells why it went read-only)"
          : "The filesystem or its quota is full: free space or raise the quota (df, getfattr -n ceph.quota.max_bytes)",
    };
    throw new MountDownError(root, why, { cause: err });
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
