/**
 * The opening every per-file action shares (docs/protocol-v2.md): the path must lie under the
 * source root, one attempt per path in this process, the file opened once without following a
 * symlink, and only a regular file worked on; the descriptor is closed whatever `run` does.
 */
import { errorCode, isNotFound } from "../../runtime/errors.ts";
import type { FileHandle, FileStat, OpenMode, OpenOptions, Runtime } from "../../runtime/types.ts";
import { errnoInWords } from "../util/errors.ts";
import { relativeToRoot } from "../util/paths.ts";
import type { FileJob, OpenFile } from "./file_job.ts";
import { busy, type FileOutcome } from "./outcome.ts";

/**
 * Opens `path` in `mode` and runs `run` on it; the early outcomes say why it did not. With
 * `look`, the open's hand-off also makes the first fstat and flistxattr (FileHandle.opened), and
 * with `lock` and `top` the flock between them and the first read of the view (OpenOptions).
 */
export async function withOpenFile(
  job: FileJob,
  path: string,
  mode: OpenMode,
  run: (file: OpenFile) => Promise<FileOutcome>,
  options: Omit<OpenOptions, "mode"> = {},
): Promise<FileOutcome> {
  const rel = relativeToRoot(job.config.root, path);
  if (rel === null)
    return {
      kind: "rejected",
      path,
      error: `"${path}" is not under the source root ${job.config.root}`,
    };
  if (job.inFlight.has(path)) return busy(path, `this process (${job.node})`);
  job.inFlight.add(path);
  try {
    const key = job.target.keyFor(rel);
    let handle: Awaited<ReturnType<typeof job.rt.openFile>>;
    try {
      handle = await job.rt.openFile(path, { ...options, mode });
    } catch (err) {
      if (isNotFound(err)) return { kind: "vanished", path };
      if (errorCode(err) === "ELOOP")
        return { kind: "rejected", path, error: `"${path}" is not a regular file (symlink)` };
      throw err;
    }
    try {
      return await run({ handle, path, key });
    } finally {
      await handle.close();
    }
  } finally {
    job.inFlight.delete(path);
  }
}

/** The refusal of anything but a regular file, or null for a regular file. */
export function notRegular(path: string, stat: FileStat): FileOutcome | null {
  if (stat.kind === "file") return null;
  return { kind: "rejected", path, error: `"${path}" is not a regular file (${stat.kind})` };
}

/**
 * Why a file cannot be opened to look at it, in words ("is not accessible: permission denied"),
 * when that is the file's own matter (its permissions: EACCES, EPERM), not the mount's; null for
 * any other error. ls, verify and scan report such a
 * file and go on to the next instead of stopping the walk.
 */
function unopenable(err: unknown): string | null {
  const code = errorCode(err);
  return code === "EACCES" || code === "EPERM" ? errnoInWords(err) : null;
}

/**
 * Runs `look` on `path` opened for reading, for a look that takes no epoch (ls, verify); null
 * when nothing is there or it is a symlink (never followed).
 */
export async function lookAtFile<T>(
  rt: Runtime,
  path: string,
  look: (handle: FileHandle) => Promise<T>,
): Promise<T | null> {
  let handle: FileHandle;
  try {
    handle = await rt.openFile(path, { mode: "read" });
  } catch (err) {
    if (isNotFound(err) || errorCode(err) === "ELOOP") return null;
    throw err;
  }
  try {
    return await look(handle);
  } finally {
    await handle.close();
  }
}

/**
 * lookAtFile, for a walk that goes on past a file this user cannot open: `unreadable` gets why
 * (unopenable) and its answer stands for the file's.
 */
export async function lookAtFileOr<T>(
  rt: Runtime,
  path: string,
  look: (handle: FileHandle) => Promise<T>,
  unreadable: (why: string) => T | Promise<T>,
): Promise<T | null> {
  try {
    return await lookAtFile(rt, path, look);
  } catch (err) {
    const why = unopenable(err);
    if (why === null) throw err;
    return await unreadable(why);
  }
}
