/**
 * How far an error reaches (BRIEF 5b, failure isolation): the one place that decides whether an
 * error met while migrating one file is that file's (`error` outcome, the task goes on), may be
 * the whole mount's or the whole target's (then a probe decides: only a failed probe stops the
 * tick), or is a failure of the program (thrown as it is).
 *
 * | error                                                              | scope             |
 * |--------------------------------------------------------------------|-------------------|
 * | EACCES, EPERM, ENAMETOOLONG, ENOENT, ENOTDIR, ELOOP, EISDIR, ENXIO, | file              |
 * |   E2BIG, ERANGE, EFBIG, EOVERFLOW, ETXTBSY                          |                   |
 * | EROFS, ENOSPC, EDQUOT (read-only, full, over quota: one directory's | mount-write:      |
 * |   quota, or the whole filesystem)                                  |   write the root  |
 * | ENOTSUP, ENOTCONN, ESTALE, EIO, ESHUTDOWN, ETIMEDOUT, any other     | mount: stat root  |
 * |   errno, a mount call past its deadline (MountUnavailableError)    |                   |
 * | TargetError transient (no answer, 5xx) or config (401/403,         | target: probe()   |
 * |   NoSuchBucket, bad signature...)                                  |                   |
 * | TargetError permanent (a 400 for this key, BadDigest, 412...)      | file              |
 * | TargetUnavailableError (a probe already failed)                    | target, confirmed |
 * | anything else                                                      | program: thrown   |
 */
import { errorCode, FsError, MountUnavailableError, XattrError } from "../../runtime/errors.ts";
import { TargetError, TargetUnavailableError } from "../targets/target.ts";
import { MountDownError } from "../util/errors.ts";

export type FailureScope =
  /** This file's alone: its outcome is `error`. */
  | "file"
  /** Maybe the whole mount: stat the root (through the mount pool, with its deadline). */
  | "mount"
  /** A write refused for the space or a read-only mount: maybe the whole mount's; write the root. */
  | "mount-write"
  /** Maybe the whole target: `target.probe()`. */
  | "target"
  /** The target's probe already failed: stop the tick. */
  | "target-down"
  /** Not an error of the environment: a failure of the program, thrown. */
  | "program";

/** errno names that can only be about the path or inode at hand. */
const FILE_ERRNOS = new Set([
  "EACCES",
  "EPERM",
  "ENAMETOOLONG",
  "ENOENT",
  "ENOTDIR",
  "ELOOP",
  "EISDIR",
  "ENXIO",
  "E2BIG",
  "ERANGE",
  "EFBIG",
  "EOVERFLOW",
  "ETXTBSY",
  "E27",
  "E75",
  "E26",
]);

/** errno names of a write refused for the space or a read-only filesystem. */
export const WRITE_REFUSED_ERRNOS = new Set(["EROFS", "ENOSPC", "EDQUOT"]);

export function failureScope(err: unknown): FailureScope {
  if (err instanceof TargetUnavailableError) return "target-down";
  if (err instanceof TargetError) return err.kind === "permanent" ? "file" : "target";
  if (err instanceof MountUnavailableError) return "mount";
  if (err instanceof FsError || err instanceof XattrError) {
    if (WRITE_REFUSED_ERRNOS.has(err.code)) return "mount-write";
    return FILE_ERRNOS.has(err.code) ? "file" : "mount";
  }
  return "program";
}

/**
 * "mount" or "target" when `err` says that one is unavailable as a whole (a probe failed, or a
 * call on the spool missed its deadline): the tick stops and the task goes back to pending.
 */
export function unavailableOf(err: unknown): "mount" | "target" | null {
  if (err instanceof MountUnavailableError || err instanceof MountDownError) return "mount";
  if (err instanceof TargetUnavailableError) return "target";
  return null;
}

/** The code an `error` outcome records: the errno name or the store's error code. */
export function failureCode(err: unknown): string | undefined {
  if (err instanceof TargetError)
    return err.storeCode ?? (err.status ? `HTTP ${err.status}` : undefined);
  return errorCode(err);
}
