/**
 * Expands submitted paths into regular files under the source root. Directories are walked
 * recursively and lazily; symlinks are never followed (so nothing outside the root is reached);
 * special files are skipped. Arguments are validated before anything is written.
 */
import type { Runtime } from "../../runtime/types.ts";
import { UsageError } from "../util/errors.ts";
import { absolutePath, relativeToRoot } from "../util/paths.ts";

/**
 * Checks every argument: absolute (after resolving against cwd), under root, existing. `shown`
 * are the arguments as the user wrote them (for the messages), when `args` were rewritten.
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
    if (!(await rt.fs.exists(absolute))) throw new UsageError(`Path "${shown}" does not exist`);
    out.push(absolute);
  }
  return out;
}

export interface WalkStats {
  files: number;
  skippedLinks: number;
  skippedOther: number;
}

/** Yields the regular files under each path (sorted per directory for stable tasks). */
export async function* walkFiles(
  rt: Runtime,
  paths: string[],
  stats: WalkStats,
): AsyncGenerator<string> {
  for (const path of paths) {
    const stat = await rt.fs.lstat(path);
    if (stat.kind === "file") {
      stats.files++;
      yield path;
    } else if (stat.kind === "dir") {
      yield* walkDir(rt, path, stats);
    } else if (stat.kind === "symlink") stats.skippedLinks++;
    else stats.skippedOther++;
  }
}

async function* walkDir(rt: Runtime, dir: string, stats: WalkStats): AsyncGenerator<string> {
  const entries = (await rt.fs.readDir(dir)).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.kind === "file") {
      stats.files++;
      yield path;
    } else if (entry.kind === "dir") yield* walkDir(rt, path, stats);
    else if (entry.kind === "symlink") stats.skippedLinks++;
    else stats.skippedOther++;
  }
}
