/**
 * Arguments that several commands share, defined once so they read the same everywhere (citty
 * infers each command's argument types from these literals), and the environment variables that
 * the help texts document.
 */

/** Every environment variable tiermv reads, with what it does (shown by --help). */
export const ENVIRONMENT = {
  TIERMV_CONFIG: "Config file when --config is not given",
  TIERMV_LOG:
    "Log format: text or json (default: text on a terminal, JSON lines on stderr otherwise)",
  TIERMV_LOCK_DIR:
    "Directory of the per-node single-instance locks (flock files; default: /run/lock/tiermv, or /tmp/tiermv-locks where /run/lock is root's alone; never $TMPDIR)",
  "AWS_*":
    "S3 credentials, the SDK's standard chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE; with no s3.endpoint, the endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL (README: S3 settings)",
} as const;
export type EnvName = keyof typeof ENVIRONMENT;

/** What a command that only reads the config and the spool depends on. */
export const CONFIG_ENV: EnvName[] = ["TIERMV_CONFIG", "TIERMV_LOG"];
/** ...and one that also talks to S3. */
export const S3_ENV: EnvName[] = [...CONFIG_ENV, "AWS_*"];
/** ...and one that also takes a node's single-instance lock. */
export const NODE_S3_ENV: EnvName[] = [...S3_ENV, "TIERMV_LOCK_DIR"];

/** Every command that reads the config takes these. */
export const configArgs = {
  config: {
    type: "string",
    valueHint: "FILE",
    description: "Config file (JSON); default: $TIERMV_CONFIG",
  },
  quiet: { type: "boolean", default: false, description: "Only warnings and errors" },
  verbose: { type: "boolean", default: false, description: "Also debug lines" },
} as const;

/** The node a command acts for. */
export const nodeArg = {
  node: {
    type: "string",
    required: true,
    valueHint: "NODE",
    description: "Node name, as in the config",
  },
} as const;

/**
 * `--once` of dispatch, rollback and report: accepted and ignored, because these commands always
 * run once and exit. It stays so that cron lines and the README's examples keep working.
 */
export const onceNoOp = {
  once: {
    type: "boolean",
    default: false,
    description: "Accepted for cron lines: this command always runs once",
  },
} as const;

/** rollback and report: one node's work, once. */
export const nodeOnceArgs = { ...configArgs, ...nodeArg, ...onceNoOp } as const;

/** `--json`: machine-readable output instead of text. */
export function jsonArg<const D extends string>(description: D) {
  return { json: { type: "boolean", default: false, description } } as const;
}

/** The files or directories a command acts on, under the source root. */
export function pathsArg<const D extends string>(description: D) {
  return {
    paths: { type: "positional", required: false, valueHint: "PATH", description },
  } as const;
}
