/**
 * Errors of the program (not per-file outcomes, which are values). Each carries what an operator
 * needs to act; `exitCode` is what the CLI exits with (2: usage or configuration, 1: failure).
 */

export class TiermvError extends Error {
  override name = "TiermvError";
  readonly exitCode: number = 1;
}

/** The configuration is invalid or names something that does not exist. */
export class ConfigError extends TiermvError {
  override name = "ConfigError";
  override readonly exitCode = 2;
}

/** The command line asks for something impossible (bad path, unknown node...). */
export class UsageError extends TiermvError {
  override name = "UsageError";
  override readonly exitCode = 2;
}

/** A task file cannot be read as a task: it goes to bad/ with this reason. */
export class TaskFormatError extends TiermvError {
  override name = "TaskFormatError";
  constructor(
    readonly taskPath: string,
    readonly lineNumber: number,
    reason: string,
  ) {
    super(`Task "${taskPath}" line ${lineNumber}: ${reason}`);
  }
}

/** The shared mount did not answer a stat in time: skip this cycle, leave tasks pending. */
export class MountUnavailableError extends TiermvError {
  override name = "MountUnavailableError";
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`The shared mount did not answer stat("${path}") within ${timeoutMs} ms`);
  }
}

/** Another instance of this node's scheduler runs on this host. */
export class AlreadyRunningError extends TiermvError {
  override name = "AlreadyRunningError";
}
