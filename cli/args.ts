/**
 * Arguments that several commands share, defined once so they read the same everywhere (citty
 * infers each command's argument types from these literals).
 */

/** Every command that reads the config takes these. */
export const configArgs = {
  config: { type: "string", description: "Config file (JSON); default: $TIERMV_CONFIG" },
  quiet: { type: "boolean", default: false, description: "Only warnings and errors" },
  verbose: { type: "boolean", default: false, description: "Also debug lines" },
} as const;

/** The node a command acts for. */
export const nodeArg = {
  node: { type: "string", required: true, description: "Node name, as in the config" },
} as const;

/**
 * `--once` of dispatch, rollback and report: accepted and ignored, because these commands always
 * run once and exit. It stays so that cron lines and the README's examples keep working.
 */
export const onceNoOp = {
  once: {
    type: "boolean",
    default: true,
    description: "Run once and exit (always so; accepted for cron lines)",
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
  return { paths: { type: "positional", required: false, description } } as const;
}
