/** Errors raised at the runtime edge: errno values become typed errors that carry the path. */

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  7: "E2BIG",
  13: "EACCES",
  17: "EEXIST",
  20: "ENOTDIR",
  22: "EINVAL",
  28: "ENOSPC",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  61: "ENODATA",
  95: "ENOTSUP",
  116: "ESTALE",
};

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** A failed xattr system call; `code` is the errno name (EEXIST, ENODATA, ENOTSUP...). */
export class XattrError extends Error {
  override name = "XattrError";
  constructor(
    readonly code: string,
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
    readonly code: string,
    readonly op: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot ${op} "${path}": ${code}`, options);
  }
}

export function xattrError(errno: number, op: string, path: string, attr: string): XattrError {
  const code = errnoName(errno);
  return code === "EEXIST"
    ? new XattrExistsError(code, op, path, attr)
    : new XattrError(code, op, path, attr);
}
