/**
 * From argv to a finished command: logging first (so even a usage error is a JSON line in a
 * pipe), then `--version`, help, the command name and its arguments are checked here, the
 * command runs through citty, and every error becomes one line and an exit code (2 usage or
 * configuration, 1 failure). Never a stack trace, unless --verbose for an unexpected error.
 */
import { type ArgsDef, runCommand } from "citty";
import { consola } from "consola";
import { closest } from "../jobs/util/closest.ts";
import { describeError, exitCodeOf, isKnownError, UsageError } from "../jobs/util/errors.ts";
import { VERSION } from "../jobs/util/version.ts";
import { checkArgv, HELP_FLAGS } from "./argv.ts";
import { renderCommandHelp, renderMainHelp } from "./help.ts";
import { setUpLogging } from "./logging.ts";
import { COMMANDS } from "./registry.ts";

function fail(err: unknown): never {
  consola.error(describeError(err));
  // A bug, not an operator's problem: the stack only for --verbose, never in their face.
  if (!isKnownError(err)) consola.debug(err);
  process.exit(exitCodeOf(err));
}

async function mainHelp(): Promise<string> {
  const rows: [string, string][] = [];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const { command } = await load();
    rows.push([name, (command.meta as { description?: string }).description ?? ""]);
  }
  return renderMainHelp(VERSION, rows);
}

/** Runs `tiermv ...argv`; resolves when the command is done (exits on errors). */
export async function runCli(argv: string[]): Promise<void> {
  try {
    setUpLogging();
  } catch (err) {
    // The log format itself is wrong: say so plainly, there is no format to say it in.
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(exitCodeOf(err));
  }
  try {
    const [name, ...rest] = argv;
    if (name === undefined) {
      process.stderr.write(await mainHelp());
      throw new UsageError("No command given: see the list above");
    }
    if (HELP_FLAGS.includes(name) || name === "help") {
      process.stdout.write(await mainHelp());
      return;
    }
    if (name === "--version" && rest.length === 0) {
      console.log(VERSION);
      return;
    }
    const load = COMMANDS[name];
    if (!load) {
      const guess = name.startsWith("-") ? undefined : closest(name, Object.keys(COMMANDS));
      const what = name.startsWith("-") ? `Unknown option "${name}"` : `Unknown command "${name}"`;
      throw new UsageError(
        `${what}${guess ? `; did you mean "${guess}"?` : ""} (see tiermv --help)`,
      );
    }
    const loaded = await load();
    const dashDash = rest.indexOf("--");
    const options = dashDash < 0 ? rest : rest.slice(0, dashDash);
    if (options.some((a) => HELP_FLAGS.includes(a))) {
      process.stdout.write(renderCommandHelp(name, loaded));
      return;
    }
    checkArgv(name, (loaded.command.args ?? {}) as ArgsDef, rest);
    await runCommand(loaded.command, { rawArgs: rest });
  } catch (err) {
    // citty's own argument errors (it checks after us) are usage errors too.
    if (err instanceof Error && err.name === "CLIError") fail(new UsageError(err.message));
    fail(err);
  }
}
