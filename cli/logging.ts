/**
 * Log output: a person at a terminal gets consola's readable lines; anything else (cron, systemd,
 * pipes) gets one JSON object per line on stderr, which log shippers parse without guessing.
 * TIERMV_LOG=text|json overrides the choice; --quiet shows warnings and errors only, --verbose
 * adds debug lines.
 */
import { consola, LogLevels } from "consola";

export function configureLogging(args: { quiet?: boolean; verbose?: boolean }): void {
  // Explicit, so NODE_ENV=test or CI detection never silences an operator's run.
  consola.level = args.quiet ? LogLevels.warn : args.verbose ? LogLevels.debug : LogLevels.info;
  const mode = process.env.TIERMV_LOG || (process.stderr.isTTY ? "text" : "json");
  if (mode !== "json") return;
  consola.setReporters([
    {
      log(entry) {
        const message = entry.args
          .map((a) =>
            a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a),
          )
          .join(" ");
        const line = {
          time: entry.date.toISOString(),
          level: entry.type,
          msg: message,
          pid: process.pid,
        };
        process.stderr.write(`${JSON.stringify(line)}\n`);
      },
    },
  ]);
}
