/**
 * The cluster's daemons as our own children (foreground, tracked and stopped by pid), and the
 * admin CLI. Each daemon carries a parent-death signal, so a test runner that dies without
 * cleaning up (even by SIGKILL) takes its cluster with it.
 */
import { openSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { CephLayout } from "./conf.ts";
import { systemPath } from "./install.ts";
import { CephStartError, ExitedError, logTail, run, stopChild } from "./proc.ts";

/** Prefix that makes a command die with its parent (a SIGKILLed test runner leaves nothing). */
export const DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"];

export interface Daemon {
  name: string;
  proc: Subprocess;
}

/** The daemons started so far, in start order; `stopDaemons` stops them in reverse. */
export class Daemons {
  readonly list: Daemon[] = [];
  constructor(readonly layout: CephLayout) {}

  start(name: string, cmd: string[]): Daemon {
    const log = openSync(join(this.layout.dir, "log", `${name}.out`), "a");
    const proc = Bun.spawn([...DIE_WITH_PARENT, ...cmd], {
      env: cephEnv(this.layout),
      stdin: "ignore",
      stdout: log,
      stderr: log,
    });
    const daemon = { name, proc };
    this.list.push(daemon);
    return daemon;
  }

  /** Throws if a daemon has exited: a start-up step waiting on it would only time out. */
  assertRunning(): void {
    for (const { name, proc } of this.list)
      if (proc.exitCode !== null || proc.signalCode !== null) {
        const log = join(this.layout.dir, "log", `${name}.log`);
        throw new ExitedError(
          `${name} exited (${proc.exitCode ?? proc.signalCode}); end of ${log}:\n${logTail(log)}`,
        );
      }
  }

  /** SIGTERM to all at once, SIGKILL to any still running after 3 s (test data is disposable). */
  async stopAll(): Promise<void> {
    await Promise.all(this.list.splice(0).map((daemon) => stopChild(daemon.proc, 3000)));
  }
}

export function cephEnv(layout: CephLayout): Record<string, string> {
  return { ...process.env, PATH: systemPath(), CEPH_CONF: layout.conf } as Record<string, string>;
}

/** `ceph` as client.admin, with a connect timeout and a deadline. */
export async function ceph(
  layout: CephLayout,
  args: string[],
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<string> {
  return await run(
    ["ceph", "-c", layout.conf, "-n", "client.admin", "--connect-timeout", "30", ...args],
    {
      env: cephEnv(layout),
      timeoutMs,
    },
  );
}

export async function cephJson<T>(layout: CephLayout, args: string[]): Promise<T> {
  return JSON.parse(await ceph(layout, [...args, "--format", "json"])) as T;
}

/**
 * Throws unless every listening TCP/UDP socket of `pids` is bound to 127.0.0.1 (`ss -lntup`).
 * Returns how many sockets were checked.
 */
export async function assertLoopbackOnly(pids: number[]): Promise<number> {
  const ours = new Set(pids);
  const lines = (await run(["ss", "-H", "-lntup"]))
    .split("\n")
    .filter((line) => [...line.matchAll(/pid=(\d+)/g)].some((m) => ours.has(Number(m[1]))));
  const outside = lines.filter((line) => !(line.split(/\s+/)[4] ?? "").startsWith("127.0.0.1:"));
  if (outside.length > 0)
    throw new CephStartError(`Ceph listens off loopback:\n${outside.join("\n")}`);
  return lines.length;
}
