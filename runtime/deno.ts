/**
 * The Deno runtime (needs --allow-ffi): every call on the shared mount runs on a pool of
 * node:worker_threads workers doing synchronous node:fs and Deno.dlopen calls, each within a
 * deadline (mount_pool.ts) -- the same pool, deadlines, bound and errors as under Bun.
 *
 * Why not `nonblocking: true` FFI symbols with node:fs promises: a non-blocking symbol runs on a
 * thread of Deno's blocking pool and errno is per thread, so the errno read after it belongs to
 * another thread (measured: an ENODATA came back as ENOENT or ENOTTY); the lock protocol needs
 * EEXIST and ENODATA exactly. And Deno's node:fs stat rounds times (ctime to the second), which
 * statx on the workers does not.
 *
 * Bounded: every call of fs, xattr, openFile handles, md5File and md5Range. Not bounded: the
 * instance lock and /proc reads (local, direct calls), and nothing else touches the mount.
 */
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { assembleRuntime } from "./assemble.ts";
import { RuntimeSetupError } from "./errors.ts";
import { bindLibc } from "./libc_deno.ts";
import type { MountOptions, RuntimeOptions } from "./mount.ts";
import type { WorkerPort } from "./mount_pool.ts";
import type { FetchHandler, HttpServer, Runtime } from "./types.ts";
import { dropKafkajsTimerWarning } from "./warnings.ts";

export type { MountOptions, RuntimeOptions };

// biome-ignore lint/suspicious/noExplicitAny: Deno's global is absent from Bun's type definitions.
const DenoNs = (globalThis as any).Deno;
const WORKER = new URL("./mount_deno_worker.ts", import.meta.url);

// node:worker_threads, not Web Workers: Deno's Web Workers cannot be unref'd, so an idle pool
// would keep every process alive.
function spawnWorker(): WorkerPort {
  const worker = new Worker(WORKER);
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.on("message", handler),
    onError: (handler) => worker.on("error", handler),
    unref: () => worker.unref(),
    terminate: () => void worker.terminate(),
  };
}

/**
 * Deno lets only --allow-all read /proc, and without /proc a process has no identity (boot id,
 * start time): locks of other runtimes' processes would look stale and be taken over. Refuse to
 * run rather than guess. (--allow-ffi, needed for xattrs, grants as much anyway.)
 */
function assertAllAccess(): void {
  try {
    readFileSync("/proc/self/stat");
  } catch (err) {
    // NotCapable since Deno 2.0 (PermissionDenied before).
    const refusals = [DenoNs.errors.NotCapable, DenoNs.errors.PermissionDenied].filter(Boolean);
    if (!refusals.some((refusal) => err instanceof refusal)) return; // not a permission problem: identity falls back as under Bun
    throw new RuntimeSetupError(
      "tiermv under Deno needs --allow-all (deno task tiermv, or deno run -A cli/main.ts): Deno lets only --allow-all read /proc, which names the processes that hold locks",
    );
  }
}

let mainLibc: ReturnType<typeof bindLibc> | undefined;

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  if (!mainLibc) assertAllAccess();
  mainLibc ??= bindLibc();
  dropKafkajsTimerWarning();
  return assembleRuntime(
    { name: "deno", streamsRequestBodies: false, libc: mainLibc, spawnWorker },
    options,
  );
}

/** Serves `fetch` with Deno.serve on hostname:port (port 0: a free one). */
export function serveHttp(
  fetch: FetchHandler,
  options: { hostname: string; port: number },
): HttpServer {
  const server = DenoNs.serve(
    { hostname: options.hostname, port: options.port, onListen() {} },
    fetch,
  );
  return { port: server.addr.port, hostname: options.hostname, stop: () => server.shutdown() };
}
