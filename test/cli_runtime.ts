/**
 * The runtimes a test's `tiermv` process can run under: Bun (`bun cli/main.ts`, as bin/tiermv)
 * and Deno with exactly the permission flags of deno.json's `tiermv` task, read from the task
 * itself, so a Deno twin runs what a Deno user runs. Tests take the runtime as a parameter
 * (`test.each(CLI_RUNTIMES)`) rather than being copied per runtime.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type CliRuntime = "bun" | "deno";

/** Every runtime the CLI runs under; a twin test runs once for each. */
export const CLI_RUNTIMES: readonly CliRuntime[] = ["bun", "deno"];

const REPO = join(import.meta.dir, "..");
export const CLI_MAIN = join(REPO, "cli/main.ts");
export const DENO = join(REPO, "node_modules/.bin/deno");

/** The flags of `deno run` in deno.json's `tiermv` task (throws when the task has another shape). */
export function denoTaskFlags(): string[] {
  const config = JSON.parse(readFileSync(join(REPO, "deno.json"), "utf8"));
  const command: string = config.tasks?.tiermv?.command ?? "";
  const match = /"\$\(which deno\)" run ((?:--[\w-]+(?:=\S+)? )+)"\$MAIN"$/.exec(command);
  if (!match?.[1])
    throw new Error(`deno.json's tiermv task is not "... run FLAGS \\"$MAIN\\"": ${command}`);
  return match[1].trim().split(" ");
}

/**
 * What bin/tiermv sets for Bun (and deploy/ for the installed binary): JSC's heap sizing, its
 * last JIT tier off, the allocator's purge delay. Tests, the soak and the benches run tiermv
 * with them, as production does; test/cli/entry_point.test.ts checks bin/tiermv sets the same.
 */
export const BUN_SETTINGS = {
  BUN_JSC_forceRAMSize: "268435456",
  BUN_JSC_useFTLJIT: "0",
  MIMALLOC_PURGE_DELAY: "0",
} as const;

/** The environment `runtime` gets besides the caller's: BUN_SETTINGS under Bun. */
export function cliEnv(runtime: CliRuntime): Record<string, string> {
  return runtime === "bun" ? { ...BUN_SETTINGS } : {};
}

/** The argv that starts `tiermv` under `runtime` (arguments follow it). */
export function cliArgv(runtime: CliRuntime): string[] {
  return runtime === "deno"
    ? [DENO, "run", ...denoTaskFlags(), CLI_MAIN]
    : [process.execPath, CLI_MAIN];
}
