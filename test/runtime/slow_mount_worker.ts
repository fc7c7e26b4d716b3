/**
 * A mount worker thread (as runtime/mount_bun_worker.ts) whose every libc call first sleeps the
 * milliseconds of the first message it gets, `{ slowMs }` (a metadata server answering slowly):
 * for the deadline tests of compound calls, which need calls each within the deadline but
 * together outlasting it. A Worker's env, name and URL query do not reach it in Bun.
 */
import { bindLibc } from "../../runtime/libc_bun.ts";
import { serveMountOps } from "../../runtime/mount_worker.ts";

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<unknown>) => void) | null;
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
};
let slowMs = 0;
const nap = new Int32Array(new SharedArrayBuffer(4));
const libc = bindLibc();
const slow = new Proxy(libc, {
  get(target, name, receiver) {
    const value = Reflect.get(target, name, receiver);
    // errno is read right after a failed call: sleeping there (a futex wait) could change it.
    if (typeof value !== "function" || name === "errno") return value;
    return (...args: unknown[]) => {
      Atomics.wait(nap, 0, 0, slowMs); // a synchronous sleep, as a call blocked in the kernel
      return (value as (...a: unknown[]) => unknown).apply(target, args);
    };
  },
});

scope.onmessage = (event) => {
  slowMs = (event.data as { slowMs: number }).slowMs;
  serve();
};

const serve = () =>
  serveMountOps(
    {
      onMessage: (handler) => {
        scope.onmessage = (event) => handler(event.data);
      },
      post: (message, transfer) => scope.postMessage(message, transfer),
    },
    slow,
  );
