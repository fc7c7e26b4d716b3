/** Test helpers: temp sandboxes (source tree, spool, config), CLI processes, polling. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import { type Config, parseConfig } from "../jobs/context/config.ts";
import { createJobContext, type JobContext, silentLog } from "../jobs/context/job_context.ts";
import { SPOOL_MARKER, SPOOL_MARKER_VERSION } from "../jobs/spool/marker.ts";
import { createRuntime } from "../runtime/bun.ts";
import { CLI_MAIN, type CliRuntime, cliArgv, cliEnv } from "./cli_runtime.ts";
import { own } from "./services/owned.ts";
import { s3Env } from "./services/shared.ts";

export const REPO = join(import.meta.dir, "..");
export const CLI = CLI_MAIN;

for (const [k, v] of Object.entries(s3Env())) process.env[k] = v;

const cleanups: (() => void)[] = [];

/** Removes every sandbox made so far (test/preload.ts calls it after a run; idempotent). */
export function cleanUpSandboxes(): void {
  for (const fn of cleanups.splice(0)) fn();
}

/**
 * Removes `dir`; a file left immutable (chattr +i) by a test that failed before making it
 * writable again (the chaos soak) is cleared first, so the failure is that test's alone.
 */
function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    if ((err as { code?: string }).code !== "EPERM") throw err;
    Bun.spawnSync(["chattr", "-R", "-i", dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}
// Outside `bun test` (the chaos script) nothing else would: clean up when the process exits.
process.once("exit", cleanUpSandboxes);

/**
 * Marks `spool` as initialised, as `tiermv init` does (creating it if needed): every command
 * refuses a spool without the marker.
 */
export function initSpoolDir(spool: string, nodes: string[]): void {
  mkdirSync(spool, { recursive: true });
  const marker = { v: SPOOL_MARKER_VERSION, createdAt: new Date().toISOString(), nodes };
  writeFileSync(join(spool, SPOOL_MARKER), `${JSON.stringify(marker)}\n`);
}

export interface Sandbox {
  dir: string;
  /** The source tree and the spool, as this test process reaches them (see `SharedData`). */
  src: string;
  spool: string;
  /** A path as the node processes name it (in their config, arguments and records). */
  nodePath(path: string): string;
  /** A path the nodes name, as this test process reaches it. */
  viewPath(path: string): string;
  configPath: string;
  config: Config;
  /** Environment that isolates this sandbox's instance locks. */
  env: Record<string, string>;
  file(rel: string, content: string | Uint8Array): string;
  setConfig(patch: Record<string, unknown>): Config;
}

/** A fresh temp dir, removed with the sandboxes after the run (test/preload.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tiermv-${prefix}-`));
  cleanups.push(() => removeDir(dir));
  return dir;
}

/**
 * The store settings of every test config: a skew limit (the store's, see the fault proxy's
 * `stall` mode), a request deadline and a late-write window small enough for tests. The window
 * fence refuses a window below skew + deadline. Multipart above 16 MiB (the default is 200 MiB),
 * so that the tests' 17 MiB files take the multipart path.
 */
export const TEST_S3 = {
  storeSkewLimitMs: 500,
  requestTimeoutMs: 6000,
  lateWriteWindowMs: 7000,
  multipartThreshold: 16 * 1024 * 1024,
};

/**
 * Where the source tree and the spool live when not on local disk: under `dir` as the nodes see
 * it (a CephFS mount in their own mount namespaces), reached by the test process at `view + dir`
 * (`/proc/<pid>/root` of a process in a namespace that has the mount).
 */
export interface SharedData {
  view: string;
  dir: string;
}

export function sandbox(options: {
  target: string;
  endpoint?: string;
  nodes?: string[];
  extra?: Record<string, unknown>;
  data?: SharedData;
}): Sandbox {
  // Config and instance locks stay local (each host has its own); the data may be shared.
  const dir = mkdtempSync(join(tmpdir(), "tiermv-test-"));
  cleanups.push(() => removeDir(dir));
  const view = options.data?.view ?? "";
  const data = options.data ? mkdtempSync(join(view + options.data.dir, "tiermv-test-")) : dir;
  // Shared data is left to the cluster's teardown (its whole filesystem goes): removing it here,
  // through a third client, waited seconds per file for the nodes' clients to give up their caps.
  const nodePath = (path: string) =>
    view && path.startsWith(`${view}/`) ? path.slice(view.length) : path;
  const viewPath = (path: string) => (view && !path.startsWith(`${view}/`) ? view + path : path);
  const src = join(data, "src");
  const spool = join(data, "spool");
  const locks = join(dir, "locks");
  for (const d of [src, spool, locks]) mkdirSync(d, { recursive: true });
  const configPath = join(dir, "config.json");
  let document: Record<string, unknown> = {
    spool: nodePath(spool),
    root: nodePath(src),
    target: options.target,
    nodes: options.nodes ?? ["a", "b", "c"],
    migrate: { uploadRetryBaseMs: 10 },
    retry: { busyBaseMs: 0, busyMaxMs: 0 },
    ...options.extra,
    s3: {
      ...TEST_S3,
      endpoint: options.endpoint,
      ...(options.extra?.s3 as Record<string, unknown> | undefined),
    },
  };
  const box: Sandbox = {
    dir,
    src,
    spool,
    nodePath,
    viewPath,
    configPath,
    config: parseConfig(document, configPath),
    env: { TIERMV_LOCK_DIR: locks, TIERMV_CONFIG: configPath },
    file(rel, content) {
      const path = join(src, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      return path;
    },
    setConfig(patch) {
      // A patched s3 block keeps the test store settings unless it sets them itself.
      const s3 = patch.s3 ? { s3: { ...TEST_S3, ...(patch.s3 as object) } } : {};
      document = { ...document, ...patch, ...s3 };
      writeFileSync(configPath, JSON.stringify(document, null, 2));
      box.config = parseConfig(document, configPath);
      initSpoolDir(viewPath(box.config.spool), box.config.nodes);
      return box.config;
    },
  };
  box.setConfig({});
  return box;
}

export function jobContext(config: Config): JobContext {
  return createJobContext(createRuntime({ mount: config.mount }), config, silentLog);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Under which runtime a test's `tiermv` process runs (Bun unless a twin test says otherwise). */
export interface CliOptions {
  runtime?: CliRuntime;
  /** Run in this process's mount namespace (a Ceph node's own client). */
  nsPid?: number;
}

/** Runs `tiermv ARGS...` as a real process and waits for it. */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
  options: CliOptions = {},
): Promise<CliResult> {
  const proc = spawnCli(args, env, options);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** What a command prints with `--json`: its last stdout line, parsed ({} when there is none). */
// biome-ignore lint/suspicious/noExplicitAny: tests read the summaries' fields freely.
export type Json = any;

export function lastJsonLine(stdout: string): Json {
  return JSON.parse(stdout.trim().split("\n").at(-1) || "{}");
}

/** Runs `tiermv ARGS...` (which should include --json) and parses its summary line. */
export async function runJson(
  args: string[],
  env: Record<string, string> = {},
  options: CliOptions = {},
): Promise<CliResult & { json: Json }> {
  const result = await cli(args, env, options);
  return { ...result, json: lastJsonLine(result.stdout) };
}

/** Every regular file under `dir`, recursively (symlinks are not followed). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * Starts `tiermv ARGS...`; `stdin: "pipe"` gives the test its standard input to write. The child
 * is owned (test/services/owned.ts) until it exits: a test that fails before it stops the child,
 * or a test run that is interrupted, never leaves it running.
 */
export function spawnCli<In extends "ignore" | "pipe" = "ignore">(
  args: string[],
  env: Record<string, string> = {},
  options: CliOptions & { stdin?: In } = {},
): Subprocess<In, "pipe", "pipe"> {
  // In a node's mount namespace when given (nsenter execs: the pid is tiermv's own).
  const enter = options.nsPid
    ? ["nsenter", "-t", String(options.nsPid), "-m", `--wd=${REPO}`, "--"]
    : [];
  const runtime = options.runtime ?? "bun";
  const proc = Bun.spawn([...enter, ...cliArgv(runtime), ...args], {
    cwd: REPO,
    // bin/tiermv's settings unless the caller's environment has its own, as bin/tiermv does.
    env: { ...cliEnv(runtime), ...process.env, ...s3Env(), TIERMV_LOG: "text", ...env },
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  }) as Subprocess<In, "pipe", "pipe">;
  const release = own({
    stop: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    kill: () => proc.kill("SIGKILL"),
  });
  void proc.exited.then(release);
  return proc;
}

/** A running `tiermv serve` on a free loopback port; `await using` stops it (SIGTERM). */
export interface Served extends AsyncDisposable {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
}

/** Starts `tiermv serve --listen 127.0.0.1:0` and waits for its URL (fails if it exits first). */
export async function startServe(
  box: Sandbox,
  extra: string[] = [],
  options: CliOptions = {},
): Promise<Served> {
  const proc = spawnCli(["serve", "--listen", "127.0.0.1:0", ...extra], box.env, options);
  const out = streamText(proc.stdout);
  try {
    const match = await out.until(/listening on (http:\/\/\S+)/, "serve's URL");
    return {
      url: match[1] ?? "",
      proc,
      async [Symbol.asyncDispose]() {
        proc.kill("SIGTERM");
        await proc.exited;
      },
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await new Response(proc.stderr).text()}`);
  } finally {
    out.release();
  }
}

/** Log lines in JSON (TIERMV_LOG=json), parsed. */
export function jsonLines(text: string): { level: string; msg: string }[] {
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A task file's header line, as dispatch writes it (`target`: the sandbox's). */
export function taskHeader(id: string, target: string, requestId = "r"): string {
  const header = { v: 1, id, requestId, createdAt: new Date().toISOString(), target, options: {} };
  return JSON.stringify(header);
}

/** One valid result event line of node a (`migrated`), numbered `i`. */
export function eventLine(i: number): string {
  return JSON.stringify({
    v: 1,
    eventId: `e${i}`,
    requestId: "r",
    taskId: "t",
    node: "a",
    path: `/p/${i}`,
    outcome: "migrated",
    at: new Date().toISOString(),
  });
}

/**
 * Reads a process's output as it comes: `until` waits for a match in everything read so far and
 * fails at once (with what was read) if the stream ends first, never spinning on a closed stream.
 */
export function streamText(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  return {
    get text() {
      return text;
    },
    async until(pattern: RegExp, what: string): Promise<RegExpExecArray> {
      for (;;) {
        const match = pattern.exec(text);
        if (match) return match;
        const { value, done } = await reader.read();
        if (done) throw new Error(`The output ended before ${what}; it was:\n${text}`);
        text += decoder.decode(value, { stream: true });
      }
    },
    /** Reads on in the background, so that a process that keeps logging never blocks on a full pipe. */
    drain(): void {
      void (async () => {
        for (;;) {
          const { value, done } = await reader
            .read()
            .catch(() => ({ value: undefined, done: true }));
          if (done) return;
          text += decoder.decode(value, { stream: true });
        }
      })();
    },
    release: () => reader.releaseLock(),
  };
}

/** Polls `check` until it returns a truthy value; never sleeps blindly. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Makes a FIFO (a named pipe): opening it without O_NONBLOCK blocks until the other end opens. */
export function mkfifo(path: string): string {
  const made = Bun.spawnSync(["mkfifo", path]);
  if (made.exitCode !== 0) throw new Error(`mkfifo ${path}: ${made.stderr.toString()}`);
  return path;
}

export function randomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
