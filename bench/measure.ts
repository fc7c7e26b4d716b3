/**
 * Runs a command under GNU time: wall seconds, peak RSS and CPU seconds (user + system), and the
 * CPU seconds another process (the S3 server) spent meanwhile.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN_SETTINGS } from "../test/cli_runtime.ts";

export interface Measurement {
  wall: number;
  rssMiB: number;
  cpu: number;
  /** CPU seconds of the `serverPid` process during the run (0 without one). */
  serverCpu: number;
  stdout: string;
}

const REPO = new URL("..", import.meta.url).pathname;

/**
 * tiermv as operators run it from an npm install: the installed entry point bin/tiermv (which
 * sets Bun's heap sizing and runs the Bun installed next to it), so never as `bun cli/main.ts`.
 */
export const TIERMV = `${REPO}bin/tiermv`;

/**
 * The settings bin/tiermv gives Bun (heap growth sized for 256 MiB of RAM, the FTL tier off,
 * the allocator's purge delay at 0): scripts that stand in for tiermv's code (sdk-loop, the HEAD
 * loop, send_path) run with them too, or their RSS and CPU compare a different collector, JIT
 * and allocator policy.
 */
export const TIERMV_HEAP: Record<string, string> = { ...BUN_SETTINGS };

/** `tiermv init` for a config whose spool does not exist yet (every command needs its marker). */
export function initSpool(config: string): void {
  const init = Bun.spawnSync([TIERMV, "init", "--config", config], { stderr: "pipe" });
  if (init.exitCode !== 0) throw new Error(`tiermv init failed: ${init.stderr.toString()}`);
}

/** `env` with the project's own bun first on PATH, for the entry point's shebang. */
export function withProjectBun(env: Record<string, string | undefined>) {
  return { ...env, PATH: `${REPO}node_modules/.bin:${env.PATH ?? ""}` };
}

const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** User + system CPU seconds of a process so far, from /proc/PID/stat (fields 14 and 15). */
export function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export async function measure(
  cmd: string[],
  env: Record<string, string | undefined>,
  serverPid?: number,
): Promise<Measurement> {
  const serverBefore = serverPid ? processCpu(serverPid) : 0;
  const proc = Bun.spawn(["/usr/bin/time", "-f", "TIME %e %M %U %S", ...cmd], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const serverCpu = serverPid ? processCpu(serverPid) - serverBefore : 0;
  const line = err.split("\n").findLast((l) => l.startsWith("TIME "));
  if (code !== 0 || !line)
    throw new Error(`${cmd.join(" ")} failed (${code}):\n${err.slice(-3000)}\n${out.slice(-1000)}`);
  const [wall, rss, user, sys] = line.slice(5).split(" ").map(Number);
  return {
    wall: wall ?? 0,
    rssMiB: (rss ?? 0) / 1024,
    cpu: (user ?? 0) + (sys ?? 0),
    serverCpu,
    stdout: out,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Writes `<dir>/config.json` for a run into a file:// target at `<dir>/out`, with its spool at
 * `<dir>/spool`; returns its path.
 */
export function fileTargetConfig(
  dir: string,
  settings: { root: string; nodes: string[]; extra?: Record<string, unknown> },
): string {
  const path = join(dir, "config.json");
  const { root, nodes, extra } = settings;
  const target = `file://${join(dir, "out")}`;
  writeFileSync(path, JSON.stringify({ spool: join(dir, "spool"), root, target, nodes, ...extra }));
  initSpool(path);
  return path;
}
