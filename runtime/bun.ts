/**
 * The Bun runtime: every call on the shared mount runs on a pool of Web Workers doing synchronous
 * node:fs and bun:ffi calls, each within a deadline (mount_pool.ts); local files (the instance
 * lock) and /proc use direct calls.
 */
import { assembleRuntime } from "./assemble.ts";
import { bindLibc } from "./libc_bun.ts";
import type { MountOptions, RuntimeOptions } from "./mount.ts";
import type { WorkerPort } from "./mount_pool.ts";
import type { FetchHandler, HttpServer, Runtime } from "./types.ts";
import { dropKafkajsTimerWarning } from "./warnings.ts";

export type { MountOptions, RuntimeOptions };

/**
 * The pool's thread entry. In a `bun build --compile` binary this module is bundled into the
 * entry chunk, whose URL is the binary's virtual root, while the worker is embedded under its
 * source path (scripts/build.ts passes it as an extra entrypoint): name it from that root.
 */
const WORKER = import.meta.url.includes("/$bunfs/")
  ? "/$bunfs/root/runtime/mount_bun_worker.ts"
  : new URL("./mount_bun_worker.ts", import.meta.url).href;

function spawnWorker(): WorkerPort {
  // smol: a smaller heap per thread (measured on 200k-path dispatch: peak RSS 155 -> 141 MiB, no
  // slower).
  const options = { smol: true } as WorkerOptions;
  return workerPort(new Worker(WORKER, options));
}

/** The pool's view of a Web Worker (Bun's have unref, which the DOM typings do not know). */
export function workerPort(started: Worker): WorkerPort {
  const worker = started as Worker & { unref(): void };
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => {
      worker.onmessage = (event: MessageEvent<unknown>) => handler(event.data);
    },
    onError: (handler) => {
      worker.onerror = (event) => handler(event.message);
    },
    unref: () => worker.unref(),
    terminate: () => worker.terminate(),
  };
}

let mainLibc: ReturnType<typeof bindLibc> | undefined;
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  mainLibc ??= bindLibc();
  dropKafkajsTimerWarning();
  return assembleRuntime(
    { name: "bun", streamsRequestBodies: true, libc: mainLibc, spawnWorker },
    options,
  );
}

/** Serves `fetch` with Bun.serve on hostname:port (port 0: a free one). */
export function serveHttp(
  fetch: FetchHandler,
  options: { hostname: string; port: number },
): HttpServer {
  const server = Bun.serve({ fetch, hostname: options.hostname, port: options.port });
  return {
    port: server.port ?? options.port,
    hostname: options.hostname,
    stop: async () => {
      await server.stop(true);
    },
  };
}
