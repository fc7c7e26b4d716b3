/**
 * The program's error vocabulary (per-file problems are outcomes, not errors). Every error of ours
 * carries a stable `code`; ERROR_CODES is the one place that maps a code to the CLI's exit code
 * (2: usage or configuration, 1: failure) and the HTTP status of the serve API. Runtime errors
 * (FsError, XattrError) carry their errno name as `code` and count as failures.
 */
import {
  errorCode,
  FsError,
  MountUnavailableError,
  RuntimeSetupError,
  XattrError,
} from "../../runtime/errors.ts";

/**
 * The shared mount did not answer a call in time (raised by the runtime, which bounds every call
 * on the mount): skip this cycle, leave tasks pending.
 */
export { MountUnavailableError };

export const ERROR_CODES = {
  /** The configuration is invalid or names something that does not exist. */
  CONFIG: { exit: 2, http: 400 },
  /** The command line or request asks for something impossible (bad path, unknown node...). */
  USAGE: { exit: 2, http: 400 },
  /** A client-given request id (--request-id, Idempotency-Key) reused with another body. */
  REQUEST_CONFLICT: { exit: 2, http: 422 },
  /** A task file cannot be read as a task: it goes to bad/ with the reason. */
  TASK_FORMAT: { exit: 1, http: 500 },
  /** A request file cannot be read as a request: it goes to inbox/bad/ with the reason. */
  REQUEST_FORMAT: { exit: 1, http: 500 },
  /** The shared mount did not answer in time: the cycle is skipped, tasks stay pending. */
  MOUNT_UNAVAILABLE: { exit: 1, http: 500 },
  /** Another instance of this node's scheduler runs on this host. */
  ALREADY_RUNNING: { exit: 1, http: 500 },
  /** The Kafka brokers could not be reached within the timeout: events wait in the outbox. */
  KAFKA_UNAVAILABLE: { exit: 1, http: 500 },
  /** A lock or state xattr that this version cannot read (garbage, or a newer version). */
  XATTR_PAYLOAD: { exit: 1, http: 500 },
  /** A target (S3, file://) operation failed; TargetError.kind says how. */
  TARGET: { exit: 1, http: 500 },
  /** The target as a whole failed its probe (every gateway down, bucket or credentials wrong). */
  TARGET_UNAVAILABLE: { exit: 1, http: 503 },
  /** A stored JSON file (plan, heartbeat, ledger lock...) is not what its schema says. */
  STORED_FILE: { exit: 1, http: 500 },
  /** Recover could not finish the lost node's rollback (its target is unreachable). */
  RECOVER_BLOCKED: { exit: 1, http: 500 },
  /** The runtime was started without what it needs (Deno without --allow-all). */
  RUNTIME_SETUP: { exit: 2, http: 500 },
} as const satisfies Record<string, { exit: 1 | 2; http: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * An error of the program that an operator can act on: its message is one clear line, its `code`
 * one of ERROR_CODES. Subclasses exist where a caller tells errors apart or reads their fields.
 */
export abstract class TiermvError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The CLI's exit code for an error: from ERROR_CODES, 1 for anything else. */
export function exitCodeOf(err: unknown): number {
  return hasErrorCode(err) ? ERROR_CODES[err.code].exit : 1;
}

/** The serve API's HTTP status for an error: from ERROR_CODES, 500 for anything else. */
export function httpStatusOf(err: unknown): number {
  return hasErrorCode(err) ? ERROR_CODES[err.code].http : 500;
}

function hasErrorCode(err: unknown): err is { code: ErrorCode } {
  return (
    err instanceof TiermvError ||
    err instanceof MountUnavailableError ||
    err instanceof RuntimeSetupError
  );
}

/** Errors whose message is written for an operator: ours and the runtime's (path and errno). */
export function isKnownError(err: unknown): err is Error {
  return (
    err instanceof TiermvError ||
    err instanceof FsError ||
    err instanceof XattrError ||
    err instanceof MountUnavailableError ||
    err instanceof RuntimeSetupError
  );
}

/** One line for an operator: a known error's message, else what happened, never a stack. */
export function describeError(err: unknown): string {
  if (isKnownError(err)) return err.message;
  return `Unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}

/** errno names that fail every call on the mount, not one path: the mount itself is gone. */
const MOUNT_WIDE_CODES = new Set(["ENOTCONN", "ESHUTDOWN", "EIO", "ESTALE"]);

/**
 * True when an error is about the shared mount as a whole (it did not answer in time, its FUSE
 * daemon died, the client was evicted, the handle went stale): the command stops, rather than
 * blaming one path and going on to the next.
 */
export function isMountWide(err: unknown): boolean {
  if (err instanceof MountUnavailableError) return true;
  const isFsCall = err instanceof FsError || err instanceof XattrError;
  return isFsCall && MOUNT_WIDE_CODES.has(err.code);
}

/** What a file system error means for the path it names, in words (errno name for the rest). */
const ERRNO_WORDS: Record<string, string> = {
  ENOENT: "does not exist",
  ENOTDIR: "does not exist (a directory on its path is a file)",
  EISDIR: "is a directory",
  EACCES: "is not accessible: permission denied",
  EPERM: "is not accessible: operation not permitted",
  ELOOP: "goes through too many symbolic links (or is one where none may be)",
  ENAMETOOLONG: "is too long a name",
  EROFS: "is on a read-only file system",
  ENOSPC: "cannot be written: no space left on the device",
  EDQUOT: "cannot be written: the disk quota is exceeded",
  // The runtime's own refusal of a path no call can take (a NUL byte in it).
  ERR_INVALID_ARG_VALUE: "is not a valid path (it holds a NUL byte)",
};

/**
 * "does not exist", "is a directory"...: how an error of a call on a path reads in a message
 * (`Cannot read config "/x": does not exist`). Unknown codes are named as they are.
 */
export function errnoInWords(err: unknown): string {
  const code = errorCode(err);
  if (code !== undefined && ERRNO_WORDS[code]) return ERRNO_WORDS[code];
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** The configuration is invalid or names something that does not exist (exit 2). */
export class ConfigError extends TiermvError {
  constructor(message: string) {
    super("CONFIG", message);
  }
}

/** The command line or request asks for something impossible (exit 2). */
export class UsageError extends TiermvError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** A request id that was first used with another body: nothing is done (exit 2, HTTP 422). */
export class RequestConflictError extends TiermvError {
  constructor(id: string) {
    super(
      "REQUEST_CONFLICT",
      `Request id "${id}" was already used with a different request; nothing done (use a new id, or none)`,
    );
  }
}

/** A task or request file that cannot be read as one, with the line that is wrong. */
abstract class LineFormatError extends TiermvError {
  constructor(
    code: ErrorCode,
    what: string,
    where: { file: string; line: number; reason: string },
  ) {
    super(code, `${what} "${where.file}" line ${where.line}: ${where.reason}`);
  }
}

export class TaskFormatError extends LineFormatError {
  constructor(taskPath: string, line: number, reason: string) {
    super("TASK_FORMAT", "Task", { file: taskPath, line, reason });
  }
}

export class RequestFormatError extends LineFormatError {
  constructor(requestPath: string, line: number, reason: string) {
    super("REQUEST_FORMAT", "Request", { file: requestPath, line, reason });
  }
}

/**
 * The shared mount failed its probe (a stat of the source root through the mount pool, with its
 * deadline) after a call on a file failed in a way that could be mount-wide: the tick stops, the
 * task goes back to pending untouched, and the next tick tries again.
 */
export class MountDownError extends TiermvError {
  constructor(
    readonly root: string,
    readonly why: { first: string; probe: string; advice?: string },
    options?: ErrorOptions,
  ) {
    const advice =
      why.advice ??
      "Check that it is mounted and its client answers (mount, dmesg, the ceph-fuse or kernel client log)";
    super(
      "MOUNT_UNAVAILABLE",
      `The shared mount of ${root} is unavailable: ${why.probe} (after: ${why.first}). ${advice}`,
      options,
    );
  }
}
