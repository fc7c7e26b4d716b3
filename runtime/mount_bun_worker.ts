/** Entry point of a mount worker thread under Bun (a Web Worker; see mount_worker.ts). */
import { bindLibc } from "./libc_bun.ts";
import { serveMountOps } from "./mount_worker.ts";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<unknown>) => void) | null;
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
};

serveMountOps(
  {
    onMessage: (handler) => {
      scope.onmessage = (event) => handler(event.data);
    },
    post: (message, transfer) => scope.postMessage(message, transfer),
  },
  bindLibc(),
);
