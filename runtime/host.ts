/**
 * The runtime adapter of the process we run in: Deno's under Deno, Bun's otherwise. The CLI takes
 * its Runtime and HTTP server from here, so the same commands run on both and only runtime/
 * knows which one it is. Each adapter is imported only when chosen: Bun's imports `bun:ffi`,
 * which Deno cannot load.
 */
import type { RuntimeOptions } from "./mount.ts";
import type { FetchHandler, HttpServer, Runtime } from "./types.ts";

/** What an adapter (runtime/bun.ts, runtime/deno.ts) offers the CLI. */
export interface HostAdapter {
  createRuntime(options?: RuntimeOptions): Runtime;
  serveHttp(fetch: FetchHandler, options: { hostname: string; port: number }): HttpServer;
}

/** True under Deno (its global namespace is there), false under Bun. */
export const IS_DENO = "Deno" in globalThis;

const adapter: HostAdapter = IS_DENO ? await import("./deno.ts") : await import("./bun.ts");

/** A Runtime for this process (see HostAdapter). */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return adapter.createRuntime(options);
}

/** Serves `fetch` on hostname:port with this runtime's server (Bun.serve or Deno.serve). */
export function serveHttp(
  fetch: FetchHandler,
  options: { hostname: string; port: number },
): HttpServer {
  return adapter.serveHttp(fetch, options);
}
