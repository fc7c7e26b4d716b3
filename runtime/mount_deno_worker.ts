/**
 * Entry point of a mount worker thread under Deno: a node:worker_threads worker, because Deno's
 * Web Workers cannot be unref'd (an idle pool would keep every process alive); see mount_worker.ts.
 */
import { parentPort } from "node:worker_threads";
import { bindLibc } from "./libc_deno.ts";
import { serveMountOps } from "./mount_worker.ts";

const port = parentPort;
if (!port) throw new Error("mount_deno_worker.ts runs only as a worker thread");

serveMountOps(
  {
    onMessage: (handler) => port.on("message", handler),
    post: (message, transfer) => port.postMessage(message, transfer),
  },
  bindLibc(),
);
