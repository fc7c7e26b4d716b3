/**
 * Process helpers for the Ceph service: short commands with a deadline, long-lived daemons that
 * are tracked by pid and stopped by pid (never by name), and polling with a deadline.
 */
import { readFileSync, rmSync } from "node:fs";
import type { Subprocess } from "bun";

/** Ceph could not be installed or started; the message says which step and why. */
export class CephStartError extends Error {
  override name = "CephStartError";
}

/** A daemon or client exited while we waited for it: waiting longer cannot help. */
export class ExitedError extends CephStartError {
  override name = "ExitedError";
}

/** The last `bytes` of a log file, for error messages ("" when it cannot be read). */
export function logTail(path: string, bytes = 2000): string {
  try {
    const text = readFileSync(path, "utf8");
    return text.slice(-bytes);
  } catch {
    return "";
  }
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
}

/** Runs a command to completion; throws CephStartError with its output when it fails. */
export async function run(cmd: string[], options: RunOptions = {}): Promise<string> {
  const proc = Bun.spawn(cmd, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (timedOut) throw new CephStartError(`${cmd.join(" ")} did not finish within ${timeoutMs} ms`);
  if (code !== 0)
    throw new CephStartError(
      `${cmd.join(" ")} failed (exit ${code}):\n${(stderr || stdout).slice(-3000)}`,
    );
  return stdout;
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs }: { timeoutMs: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof ExitedError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new CephStartError(`${what} not ready within ${timeoutMs} ms${why}`);
    }
    await Bun.sleep(delay);
  }
}

/** True while the pid exists (a zombie counts until it is reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops one of our own children: SIGCONT (it may be frozen), SIGTERM, then SIGKILL after
 * `graceMs`; resolves once it has been reaped.
 */
export async function stopChild(proc: Subprocess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGCONT");
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** True once the pid has exited (gone, or a zombie that holds no files any more). */
export function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/**
 * For `process.on("exit")`, where nothing can be awaited: SIGKILL the pids, wait (spinning, at
 * most 3 s) until they have exited, then remove `dir`.
 */
export function killSyncAndRemove(pids: number[], dir: string): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !pids.every(exited)) Bun.sleepSync(20);
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
}
