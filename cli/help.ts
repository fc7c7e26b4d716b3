/**
 * `--help`: plain text (no colour codes, so it reads the same in a terminal, a pipe and a man-like
 * pager), with a usage line that shows placeholders (`--node NODE`, `PATH...`), every option,
 * examples, and the environment variables the command reads.
 */
import type { ArgsDef, CommandDef } from "citty";
import { ENVIRONMENT, type EnvName } from "./args.ts";

/** What a command's help shows besides its arguments. */
export interface CommandHelp {
  /** Usage lines after `tiermv <name> `; default: built from the declared arguments. */
  usage?: string[];
  examples: string[];
  env: EnvName[];
}

export interface LoadedCommand {
  // biome-ignore lint/suspicious/noExplicitAny: commands declare different argument types.
  command: CommandDef<any>;
  help: CommandHelp;
}

function placeholder(name: string, valueHint: string | undefined): string {
  return valueHint ?? name.toUpperCase().replaceAll("-", "_");
}

function usageFromArgs(args: ArgsDef): string {
  const parts = ["[OPTIONS]"];
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") {
      const p = `${placeholder(name, def.valueHint)}...`;
      parts.push(def.required === false ? `[${p}]` : p);
    } else if (def.required) parts.push(`--${name} ${placeholder(name, def.valueHint)}`);
  }
  return parts.join(" ");
}

function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

export function renderCommandHelp(name: string, loaded: LoadedCommand): string {
  const { command, help } = loaded;
  const meta = (command.meta ?? {}) as { description?: string };
  const args = (command.args ?? {}) as ArgsDef;
  const lines = [`tiermv ${name}: ${meta.description ?? ""}`, ""];
  const usage = help.usage ?? [usageFromArgs(args)];
  usage.forEach((u, i) => {
    lines.push(`${i === 0 ? "Usage: " : "       "}tiermv ${name} ${u}`);
  });
  const rows: [string, string][] = [];
  for (const [argName, def] of Object.entries(args)) {
    if (def.type === "positional") {
      rows.push([`${placeholder(argName, def.valueHint)}...`, def.description ?? ""]);
      continue;
    }
    const value = def.type === "boolean" ? "" : ` ${placeholder(argName, def.valueHint)}`;
    const shown =
      def.type === "string" && def.default !== undefined ? ` (default ${def.default})` : "";
    rows.push([
      `--${argName}${value}`,
      `${def.description ?? ""}${def.required ? " (required)" : shown}`,
    ]);
    if (def.type === "boolean" && "negativeDescription" in def && def.negativeDescription)
      rows.push([`--no-${argName}`, def.negativeDescription]);
  }
  rows.push(["-h, --help", "Show this help"]);
  lines.push("", "Options:", ...columns(rows));
  if (help.examples.length > 0) lines.push("", "Examples:", ...help.examples.map((e) => `  ${e}`));
  if (help.env.length > 0)
    lines.push("", "Environment:", ...columns(help.env.map((e) => [e, ENVIRONMENT[e]])));
  lines.push(
    "",
    "Exit codes: 0 done, 1 something needs an operator, 2 usage or configuration error.",
  );
  return `${lines.join("\n")}\n`;
}

export function renderMainHelp(version: string, commands: [string, string][]): string {
  return [
    `tiermv ${version}: migrate files from a shared filesystem to S3, from many nodes at once`,
    "",
    "Usage: tiermv COMMAND [OPTIONS] [ARGUMENTS]",
    "       tiermv COMMAND --help",
    "       tiermv --version",
    "",
    "Commands:",
    ...columns(commands),
    "",
    "Environment:",
    ...columns(
      (["TIERMV_CONFIG", "TIERMV_LOG", "TIERMV_LOCK_DIR", "AWS_*"] as EnvName[]).map((e) => [
        e,
        ENVIRONMENT[e],
      ]),
    ),
    "",
    "Exit codes: 0 done, 1 something needs an operator, 2 usage or configuration error.",
    "",
  ].join("\n");
}
