/**
 * A Bun Worker for hung_worker.ts: runs one synchronous FFI fgetxattr on a descriptor of the
 * parent process and posts the result, so the call blocks this thread, not the event loop.
 */
import { fgetxattr } from "./libc_fd.ts";

declare const self: Worker;
self.onmessage = (event: MessageEvent<{ fd: number; name: string }>) => {
  const began = performance.now();
  const result = fgetxattr(event.data.fd, event.data.name);
  self.postMessage({ result, ms: Math.round(performance.now() - began) });
};
