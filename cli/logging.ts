/**
 * Log output, set up once when the process starts, before anything can log: a person at a
 * terminal gets consola's readable lines; anything else (cron, systemd, pipes) gets one JSON
 * object per line on stderr, which log shippers parse without guessing. TIERMV_LOG=text|json
 * overrides the choice (text in a pipe is plain: no colour codes); any other value is a usage
 * error. --quiet shows warnings and errors only, --verbose adds debug lines.
 */
import { consola, LogLevels, type LogObject } from "consola";
import { UsageError } from "../jobs/util/errors.ts";

export type LogMode = "text" | "json";

/** The log format TIERMV_LOG asks for (unset or empty: by whether stderr is a terminal). */
export function logModeFrom(value: string | undefined, isTTY: boolean): LogMode {
  if (value === undefined || value === "") return isTTY ? "text" : "json";
  if (value === "text" || value === "json") return value;
  throw new UsageError(`TIERMV_LOG must be "text" or "json", got "${value}"`);
}

function message(entry: LogObject): string {
  return entry.args
    .map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a)))
    .join(" ");
}

const jsonReporter = {
  log(entry: LogObject) {
    const line = {
      time: entry.date.toISOString(),
      level: entry.type,
      msg: message(entry),
      pid: process.pid,
    };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  },
};

/** Text without a terminal: one plain line per entry, no colour, no badges. */
const plainReporter = {
  log(entry: LogObject) {
    const level = entry.type === "log" ? "" : `${entry.type.toUpperCase()} `;
    process.stderr.write(`${level}${message(entry)}\n`);
  },
};

/** Chooses the format; throws UsageError for an unknown TIERMV_LOG. Call once, first. */
export function setUpLogging(): LogMode {
  const mode = logModeFrom(process.env.TIERMV_LOG, process.stderr.isTTY === true);
  consola.level = LogLevels.info;
  // Logs never mix with a command's output: stdout carries results (task ids, JSON), stderr logs.
  consola.options.stdout = process.stderr;
  if (mode === "json") consola.setReporters([jsonReporter]);
  else if (!process.stderr.isTTY) consola.setReporters([plainReporter]);
  return mode;
}

/** The level a command asked for with --quiet or --verbose. */
export function configureLogging(args: { quiet?: boolean; verbose?: boolean }): void {
  // Explicit, so NODE_ENV=test or CI detection never silences an operator's run.
  consola.level = args.quiet ? LogLevels.warn : args.verbose ? LogLevels.debug : LogLevels.info;
}
