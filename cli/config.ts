/**
 * Loads the config named by --config or TIERMV_CONFIG, validates it, and resolves `root` and
 * `spool` through symlinks once: a root given as a symlink works, and a path written through it
 * is the same file everywhere (Config.rootAliases keeps the root as written). Refuses a spool
 * that overlaps the root, and a file:// target that overlaps either. Every check is bounded by `mount.timeoutMs`, and reading the file
 * itself (which may sit on the shared mount) by its default, since no config is read yet: a hung
 * mount is an error (exit 1), never a hung command.
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type Config, MOUNT_TIMEOUT_DEFAULT_MS, parseConfig } from "../jobs/context/config.ts";
import { deadline } from "../jobs/util/async.ts";
import { ConfigError, errnoInWords, MountUnavailableError } from "../jobs/util/errors.ts";
import { isWithin } from "../jobs/util/paths.ts";
import { isNotFound } from "../runtime/errors.ts";

/** The config's text; a directory, FIFO or device is refused before it is opened. */
async function readConfigText(file: string): Promise<string> {
  try {
    const kind = await stat(file);
    if (kind.isDirectory()) throw new ConfigError(`Config "${file}" is a directory, not a file`);
    if (!kind.isFile())
      throw new ConfigError(`Config "${file}" is not a regular file (a FIFO, socket or device)`);
    return await readFile(file, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Cannot read config "${file}": ${errnoInWords(err)}`);
  }
}

async function readDocument(file: string): Promise<unknown> {
  const ms = MOUNT_TIMEOUT_DEFAULT_MS;
  const text = await deadline(readConfigText(file), ms, {
    onTimeout: () => new MountUnavailableError("read the config", file, ms, "deadline"),
  });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Config "${file}" is not valid JSON: ${(err as Error).message}`);
  }
}

async function resolveRoot(root: string): Promise<string> {
  try {
    const real = await realpath(root);
    if (!(await stat(real)).isDirectory())
      throw new ConfigError(`Source root "${root}" is not a directory`);
    return real;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Source root "${root}" ${errnoInWords(err)}`);
  }
}

/** The spool's real path; with `mayBeMissing` (init) a missing spool resolves via its parent. */
async function resolveSpool(spool: string, mayBeMissing: boolean): Promise<string> {
  try {
    return await realpath(spool);
  } catch (err) {
    if (!isNotFound(err) || !mayBeMissing) return spool; // checkSpool says why
    try {
      return `${await realpath(dirname(spool))}/${basename(spool)}`.replace(/^\/\//, "/");
    } catch {
      return spool; // initSpool says why
    }
  }
}

/**
 * A file:// target's directory, resolved through symlinks as far as it exists (the rest of the
 * path is appended as written): the target may not exist yet.
 */
async function resolveTargetDir(target: string): Promise<string | null> {
  if (!target.startsWith("file://")) return null;
  const dir = decodeURIComponent(target.slice("file://".length)).replace(/\/+$/, "") || "/";
  const rest: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    try {
      return join(await realpath(at), ...rest);
    } catch (err) {
      if (!isNotFound(err) || at === "/") return dir;
      rest.unshift(basename(at));
    }
  }
}

/** Throws ConfigError when a file:// target and the root or the spool contain one another. */
function refuseTargetOverlap(
  file: string,
  config: Config,
  resolved: { target: string | null; root: string; spool: string },
): void {
  const { target } = resolved;
  if (target === null) return;
  for (const [what, dir] of [
    ["source root", resolved.root],
    ["spool", resolved.spool],
  ] as const) {
    if (isWithin(dir, target) || isWithin(target, dir))
      throw new ConfigError(
        `Invalid config "${file}": the target "${config.target}" and the ${what} "${what === "spool" ? config.spool : config.root}" overlap; a file:// target must live outside both (objects written into the root would be migrated again, under a longer key each time)`,
      );
  }
}

export interface LoadOptions {
  /** `init` only: the spool may not exist yet. */
  spoolMayBeMissing?: boolean;
}

export async function loadConfig(
  args: { config?: string },
  options: LoadOptions = {},
): Promise<Config> {
  const file = args.config ?? process.env.TIERMV_CONFIG;
  if (!file) throw new ConfigError("No config: pass --config FILE or set TIERMV_CONFIG");
  const config = parseConfig(await readDocument(file), `"${file}"`);
  const timeoutMs = config.mount.timeoutMs;
  const [root, spool, target] = await deadline(
    Promise.all([
      resolveRoot(config.root),
      resolveSpool(config.spool, options.spoolMayBeMissing === true),
      resolveTargetDir(config.target),
    ]),
    timeoutMs,
    { onTimeout: () => new MountUnavailableError("resolve", config.root, timeoutMs, "deadline") },
  );
  if (isWithin(root, spool) || isWithin(spool, root))
    throw new ConfigError(
      `Invalid config "${file}": the spool "${config.spool}" and the source root "${config.root}" overlap; the spool must live outside the root`,
    );
  refuseTargetOverlap(file, config, { target, root, spool });
  const rootAliases = root === config.root ? undefined : [config.root];
  return { ...config, root, spool, ...(rootAliases ? { rootAliases } : {}) };
}
