/**
 * Errors raised at the runtime edge: errno values become typed errors that carry the path and a
 * stable `code` (the errno name). Callers test codes only through the helpers below.
 */

/** The errno values the code base knows by name (the others keep their OS name, OtherErrno). */
const ERRNO_NAMES = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  30: "EROFS",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  95: "ENOTSUP",
  // A FUSE daemon that died (ENOTCONN), a CephFS client the MDS evicted and blocklisted
  // (ESHUTDOWN: every call fails until a remount): mount-wide, not one file's problem.
  107: "ENOTCONN",
  108: "ESHUTDOWN",
  110: "ETIMEDOUT",
  116: "ESTALE",
} as const satisfies Record<number, `E${string}`>;

/** The errno names above, and the runtime's own ELINETOOLONG and EILSEQ. */
export type KnownErrno = (typeof ERRNO_NAMES)[keyof typeof ERRNO_NAMES] | "ELINETOOLONG" | "EILSEQ";

declare const OTHER_ERRNO: unique symbol;
/**
 * An errno the code base does not act on by name, as the OS reports it ("EADDRINUSE", or "E121"
 * for a number without a name here). Made only by errnoName and fsErrorCode, so a misspelt code
 * ("ENOENTT") in our own code does not compile; test codes with isNotFound, isExists...
 */
export type OtherErrno = string & { readonly [OTHER_ERRNO]: true };

/**
 * The codes of FsError and XattrError: a closed union of the errno names the code base knows,
 * the runtime's own ELINETOOLONG (a line over the reader's limit) and EILSEQ (bytes that are not
 * UTF-8), and the explicit OtherErrno branch for everything else.
 */
export type FsErrorCode = KnownErrno | OtherErrno;

export function errnoName(errno: number): FsErrorCode {
  return (ERRNO_NAMES as Record<number, KnownErrno>)[errno] ?? (`E${errno}` as OtherErrno);
}

/** `code` as an FsErrorCode; EIO when the error has none. */
export function fsErrorCode(code: string | undefined): FsErrorCode {
  return code?.startsWith("E") ? (code as FsErrorCode) : "EIO";
}

/** The `code` of any error that has one (ours, node:fs's, the SDK's), else undefined. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The path does not lead to a file: ENOENT, or ENOTDIR when a parent is no directory (any more). */
export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === "ENOENT" || code === "ENOTDIR";
}

/** The file or attribute exists already (O_EXCL, link, XATTR_CREATE). */
export function isExists(err: unknown): boolean {
  return errorCode(err) === "EEXIST";
}

/** A text file that cannot be read as lines: a line over the limit, or bytes that are not UTF-8. */
export function isUnreadableText(err: unknown): boolean {
  const code = errorCode(err);
  return code === "ELINETOOLONG" || code === "EILSEQ";
}

/** A failed xattr system call; `code` is the errno name (EEXIST, ENODATA, ENOTSUP...). */
export class XattrError extends Error {
  override name = "XattrError";
  constructor(
    readonly code: FsErrorCode,
    readonly op: string,
    readonly path: string,
    readonly attr: string,
  ) {
    super(`Cannot ${op} xattr "${attr}" on "${path}": ${code}`);
  }
}

/** setxattr(XATTR_CREATE) found the attribute already there: someone else holds it. */
export class XattrExistsError extends XattrError {
  override name = "XattrExistsError";
}

/** A failed file system call, with the errno name and the path. */
export class FsError extends Error {
  override name = "FsError";
  constructor(
    readonly code: FsErrorCode,
    readonly op: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot ${op} "${path}": ${code}`, options);
  }
}

/** Any error of a file system call as an FsError with its errno name (EIO when it has none). */
export function fsError(err: unknown, op: string, path: string): FsError {
  return new FsError(fsErrorCode(errorCode(err)), op, path, { cause: err });
}

/**
 * A call on the shared mount did not answer within its deadline ("deadline"), or so many threads
 * are already stuck in it that calls fail fast until one comes back ("stuck"). The call is not
 * cancelled: it may still complete later (a write or rename then lands late).
 */
export class MountUnavailableError extends Error {
  override name = "MountUnavailableError";
  readonly code = "MOUNT_UNAVAILABLE";
  constructor(
    readonly op: string,
    readonly path: string,
    readonly timeoutMs: number,
    readonly reason: "deadline" | "stuck",
  ) {
    super(
      reason === "deadline"
        ? `The shared mount did not answer ${op} "${path}" within ${timeoutMs} ms`
        : `The shared mount is not answering: ${op} "${path}" not tried (threads stuck in earlier calls past their ${timeoutMs} ms deadline)`,
    );
  }
}

export function xattrError(errno: number, op: string, path: string, attr: string): XattrError {
  const code = errnoName(errno);
  return code === "EEXIST"
    ? new XattrExistsError(code, op, path, attr)
    : new XattrError(code, op, path, attr);
}
