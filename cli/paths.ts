/**
 * Paths given on the command line, made the same as the paths tiermv stores: absolute, with every
 * directory resolved through symlinks, under the resolved root. A path written through the root as
 * configured (a symlink) and a path through another symlink to a directory under the root both
 * name the file by its real directory, and one through a symlinked directory that leads out of
 * the root is refused. The last component is never followed (a symlink named explicitly stays a
 * symlink, which the walk skips), unless it is the root itself.
 */
import { realpath } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Config } from "../jobs/context/config.ts";
import type { JobContext } from "../jobs/context/job_context.ts";
import { validateSubmitPaths } from "../jobs/plan/walk.ts";
import { deadline } from "../jobs/util/async.ts";
import { MountUnavailableError } from "../jobs/util/errors.ts";
import { absolutePath, underResolvedRoot } from "../jobs/util/paths.ts";

export async function canonicalArg(config: Config, arg: string): Promise<string> {
  const mapped = underResolvedRoot(config, absolutePath(process.cwd(), arg));
  if (mapped === config.root) return mapped;
  try {
    if ((await realpath(mapped)) === config.root) return config.root;
    return join(await realpath(dirname(mapped)), basename(mapped));
  } catch {
    return mapped; // does not exist: validateSubmitPaths says so, naming the argument
  }
}

/** Every argument canonical; bounded by `mount.timeoutMs` like every look at the mount. */
export function canonicalArgs(config: Config, args: string[]): Promise<string[]> {
  const ms = config.mount.timeoutMs;
  return deadline(Promise.all(args.map((arg) => canonicalArg(config, arg))), ms, {
    onTimeout: () => new MountUnavailableError("resolve paths under", config.root, ms, "deadline"),
  });
}

/** The PATH arguments, canonical and checked (each named as given), or the root when none. */
export async function pathsOrRoot(ctx: JobContext, positional: unknown[] = []): Promise<string[]> {
  const given = positional.map(String);
  return await validateSubmitPaths(
    ctx.rt,
    ctx.config.root,
    given.length > 0 ? await canonicalArgs(ctx.config, given) : [ctx.config.root],
    { shown: given },
  );
}
