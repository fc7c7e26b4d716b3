/**
 * Expands submitted paths into regular files under the source root. Directories are walked
 * recursively and lazily; symlinks are never followed (so nothing outside the root is reached);
 * special files inside a directory are skipped and counted. A path named explicitly must be a
 * regular file or a directory. Arguments are validated before anything is written.
 */
import { isNotFound } from "../../runtime/errors.ts";
import type { FileKind, Runtime } from "../../runtime/types.ts";
import { errnoInWords, isMountWide, UsageError } from "../util/errors.ts";
import { absolutePath, relativeToRoot } from "../util/paths.ts";

/**
 * Why a path named explicitly is not migrated, or null for a regular file or a directory: a
 * symlink (never followed: name the file it points to) or a FIFO, socket or device.
 */
export function kindProblem(kind: FileKind): string | null {
  if (kind === "symlink")
    return "is a symbolic link: links are never followed, name the file it points to";
  if (kind === "other") return "is not a regular file or a directory (a FIFO, socket or device)";
  return null;
}

/**
 * Checks every argument: absolute (after resolving against cwd), under root, existing, and a
 * regular file or a directory (UsageError, exit 2, naming the argument). A mount-wide error
 * propagates. `shown` are the arguments as the user wrote them, when `args` were rewritten.
 */
export async function validateSubmitPaths(
  rt: Runtime,
  root: string,
  args: string[],
  options: { shown?: string[] } = {},
): Promise<string[]> {
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    const shown = options.shown?.[i] ?? arg;
    const absolute = absolutePath(rt.process.cwd(), arg);
    if (absolute !== root && relativeToRoot(root, absolute) === null) {
      throw new UsageError(`Path "${shown}" is outside the source root ${root}`);
    }
    let kind: FileKind;
    try {
      kind = (await rt.fs.lstat(absolute)).kind;
    } catch (err) {
      if (isMountWide(err)) throw err;
      throw new UsageError(`Path "${shown}" ${errnoInWords(err)}`);
    }
    const problem = kindProblem(kind);
    if (problem) throw new UsageError(`Path "${shown}" ${problem}`);
    out.push(absolute);
  }
  return out;
}

/** A path that was named or found but is not migrated, and why. */
export interface PathProblem {
  path: string;
  /** The line of the producer's input (`submit --from`) that named it, when known. */
  line?: number;
  /** "vanished": it did not exist (any more); "refused": it cannot be migrated as it is. */
  kind: "vanished" | "refused";
  reason: string;
}

export interface WalkStats {
  files: number;
  skippedLinks: number;
  skippedOther: number;
  /**
   * Called for a path that cannot be walked (gone, unreadable): it is left out and the walk goes
   * on. Without it such an error is thrown. A mount-wide error is always thrown.
   */
  onProblem?: (problem: PathProblem) => void;
}

/**
 * Walk stats that keep what the walk could not enter or name (its `refused` problems: an
 * unreadable directory, a name that is not UTF-8) for the caller to report; a path that vanished
 * meanwhile is left out, as the files it held would be.
 */
export function keepingRefused(): { stats: WalkStats; refused: PathProblem[] } {
  const refused: PathProblem[] = [];
  const stats: WalkStats = {
    files: 0,
    skippedLinks: 0,
    skippedOther: 0,
    onProblem: (problem) => {
      if (problem.kind === "refused") refused.push(problem);
    },
  };
  return { stats, refused };
}

/** Reports `err` about `path` as a problem of that path, or throws it (see WalkStats.onProblem). */
export function pathProblem(stats: WalkStats, path: string, err: unknown, line?: number): void {
  if (!stats.onProblem || isMountWide(err)) throw err;
  const kind = isNotFound(err) ? "vanished" : "refused";
  stats.onProblem({
    path,
    ...(line === undefined ? {} : { line }),
    kind,
    reason: errnoInWords(err),
  });
}

/** Why a name the runtime could not decode is left out. */
export const NOT_UTF8 =
  "its name is not valid UTF-8, so tiermv cannot name it (it reads the name with U+FFFD in place of the bytes that do not decode): rename it to UTF-8 (convmv), then submit it";

/**
 * True when `path` (a name with U+FFFD in it, as the runtime decodes directory entries) names no
 * file: the real name has bytes that are not UTF-8, and no call can reach it by this string.
 */
async function undecodable(rt: Runtime, path: string): Promise<boolean> {
  try {
    await rt.fs.lstat(path);
    return false; // a name that really holds U+FFFD
  } catch (err) {
    return isNotFound(err);
  }
}

/** Yields the regular files under each path (sorted per directory for stable tasks). */
export async function* walkFiles(
  rt: Runtime,
  paths: string[],
  stats: WalkStats,
): AsyncGenerator<string> {
  for (const path of paths) {
    let kind: FileKind;
    try {
      kind = (await rt.fs.lstat(path)).kind;
    } catch (err) {
      pathProblem(stats, path, err);
      continue;
    }
    if (kind === "file") {
      stats.files++;
      yield path;
    } else if (kind === "dir") {
      yield* walkDir(rt, path, stats);
    } else if (kind === "symlink") stats.skippedLinks++;
    else stats.skippedOther++;
  }
}

async function* walkDir(rt: Runtime, dir: string, stats: WalkStats): AsyncGenerator<string> {
  let entries: Awaited<ReturnType<Runtime["fs"]["readDir"]>>;
  try {
    entries = (await rt.fs.readDir(dir)).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch (err) {
    pathProblem(stats, dir, err);
    return;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.name.includes("\uFFFD") && (await undecodable(rt, path))) {
      // Left out, and said: reported as gone, it would never be archived while every report
      // said all was well.
      if (stats.onProblem) stats.onProblem({ path, kind: "refused", reason: NOT_UTF8 });
      else stats.skippedOther++;
      continue;
    }
    if (entry.kind === "file") {
      stats.files++;
      yield path;
    } else if (entry.kind === "dir") yield* walkDir(rt, path, stats);
    else if (entry.kind === "symlink") stats.skippedLinks++;
    else stats.skippedOther++;
  }
}
