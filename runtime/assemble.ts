/**
 * What the Bun and Deno adapters build alike: the mount on the adapter's worker pool, the process
 * on its libc, and the node:crypto hashes. Each adapter passes only what differs (its name, its
 * fetch's way with streamed bodies, its FFI binding and its workers).
 */
import type { LibcFile } from "./libc_file.ts";
import { mountRuntime, type RuntimeOptions } from "./mount.ts";
import type { WorkerPort } from "./mount_pool.ts";
import { hasher, md5 } from "./node_hash.ts";
import { createNodeProcess } from "./node_process.ts";
import type { Runtime } from "./types.ts";

export interface RuntimeAdapter {
  name: Runtime["name"];
  streamsRequestBodies: boolean;
  libc: LibcFile;
  spawnWorker: () => WorkerPort;
}

export function assembleRuntime(adapter: RuntimeAdapter, options: RuntimeOptions): Runtime {
  return {
    name: adapter.name,
    streamsRequestBodies: adapter.streamsRequestBodies,
    ...mountRuntime(options.mount, adapter.spawnWorker),
    process: createNodeProcess(adapter.libc),
    md5,
    hasher,
  };
}
