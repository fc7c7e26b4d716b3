/**
 * The one place that checks a command line against what a command declares, before citty parses
 * it. citty accepts anything (an unknown `--stratgy hash-dir` becomes a flag it ignores and a
 * path), so a typo would silently change what a cron line does. Here every option must be
 * declared, a string option needs its value, a boolean takes none, `--no-X` exists only where the
 * command marks X negatable (a `negativeDescription`), positionals only where the command takes
 * them, and required options are present. An option given twice is refused rather than read
 * last-wins (`run --node a --node b` ran b), and so are flags that contradict each other
 * (`--quiet --verbose`). Everything else is a UsageError: one line, exit 2.
 */
import type { ArgDef, ArgsDef } from "citty";
import { closest } from "../jobs/util/closest.ts";
import { UsageError } from "../jobs/util/errors.ts";

/** Options every command accepts, answered before the command runs. */
export const HELP_FLAGS = ["--help", "-h"];

/** Flags that contradict each other wherever a command has both. */
const EXCLUSIVE: [string, string][] = [["quiet", "verbose"]];

const isNegatable = (def: ArgDef | undefined) =>
  def?.type === "boolean" && "negativeDescription" in def && !!def.negativeDescription;

/**
 * Throws UsageError for the first thing in `argv` that `tiermv <command>` does not declare.
 * `argv` is what follows the command name.
 */
export function checkArgv(command: string, args: ArgsDef, argv: string[]): void {
  const where = `tiermv ${command}`;
  const options = Object.entries(args).filter(([, d]) => d.type !== "positional");
  const names = options.map(([n]) => n);
  const takesPositionals = Object.values(args).some((d) => d.type === "positional");
  const seen = new Set<string>();
  const see = (name: string, token: string) => {
    if (seen.has(name))
      throw new UsageError(`--${name} is given twice ("${token}" again): give it once`);
    seen.add(name);
  };
  const unknown = (token: string, name: string) => {
    const guess = closest(name, names);
    const hint = guess ? `; did you mean --${guess}?` : `; see ${where} --help`;
    return new UsageError(`Unknown option "${token}" for ${where}${hint}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      if (!takesPositionals && i + 1 < argv.length)
        throw new UsageError(`${where} takes no arguments, got "${argv[i + 1]}"`);
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      if (!takesPositionals) throw new UsageError(`${where} takes no arguments, got "${token}"`);
      continue;
    }
    if (!token.startsWith("--")) throw unknown(token, token.slice(1));
    const eq = token.indexOf("=");
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const def = args[name];
    if (!def || def.type === "positional") {
      if (name.startsWith("no-") && isNegatable(args[name.slice(3)])) {
        if (eq >= 0) throw new UsageError(`--${name} takes no value (got "${token}")`);
        see(name.slice(3), token);
        continue;
      }
      throw unknown(token, name);
    }
    see(name, token);
    if (def.type === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value (got "${token}")`);
      continue;
    }
    const value = eq >= 0 ? token.slice(eq + 1) : argv[++i];
    const hint = def.valueHint ?? "VALUE";
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("--")))
      throw new UsageError(`--${name} needs a value: --${name} ${hint}`);
    if (def.type === "enum" && def.options && !def.options.includes(value))
      throw new UsageError(`--${name} must be one of ${def.options.join(", ")}, got "${value}"`);
  }
  for (const [a, b] of EXCLUSIVE)
    if (seen.has(a) && seen.has(b)) throw new UsageError(`Give --${a} or --${b}, not both`);
  for (const [name, def] of options) {
    if (def.required && !seen.has(name))
      throw new UsageError(`${where} needs --${name} ${def.valueHint ?? "VALUE"}`);
  }
}
