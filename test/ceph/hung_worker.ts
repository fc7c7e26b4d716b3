/**
 * The process side of hung_mount_probe.ts, run inside a node's namespace. It prepares (opens its
 * descriptor while the mount still answers), prints "ready", waits for "go" on stdin, then:
 *   op <stat|open|fgetxattr|getxattr|rename|readdir> <path>   one call, timed
 *   timers <path> <worker|main>   a 100 ms interval runs while fgetxattr blocks in a Worker or
 *                                  on the main thread; prints the largest gap between ticks
 *   exit <path>                    a Worker blocks in fgetxattr, then the process calls exit
 *   fdcheck <path>                 Bun.file(fd).slice().arrayBuffer() and f*xattr on a
 *                                  descriptor opened with the attempt flags (no freeze)
 * Prints one JSON line with what happened.
 */
import { closeSync, fstatSync, openSync, readdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { ATTEMPT_FLAGS, fgetxattr, flistxattr, fremovexattr, fsetxattr } from "./libc_fd.ts";

const [mode, path, arg] = process.argv.slice(2);
if (!mode || !path) {
  console.error("usage: hung_worker.ts <mode> <path> [arg]");
  process.exit(2);
}
const print = (value: unknown) => console.log(JSON.stringify(value));
const errno = (err: unknown) => (err as { code?: string }).code ?? String(err);
// Opened before "go", while the mount still answers (an op other than fgetxattr needs none).
const fd = mode === "op" && arg !== "fgetxattr" ? -1 : openSync(path, ATTEMPT_FLAGS);

console.log("ready");
for await (const line of console) if (line.trim() === "go") break;
const began = performance.now();
const elapsed = () => Math.round(performance.now() - began);

if (mode === "op") {
  const op = arg ?? "";
  try {
    if (op === "stat") statSync(path);
    else if (op === "open") closeSync(openSync(path, ATTEMPT_FLAGS));
    else if (op === "fgetxattr") {
      const r = fgetxattr(fd, "user.probe");
      if (!r.ok && r.errno !== 61)
        throw Object.assign(new Error("fgetxattr"), { code: `errno ${r.errno}` });
    } else if (op === "getxattr") await createRuntime().xattr.get(path, "user.probe");
    else if (op === "rename") renameSync(path, `${path}.renamed`);
    else if (op === "readdir") readdirSync(join(path, ".."));
    print({ op, result: "ok", ms: elapsed() });
  } catch (err) {
    print({ op, result: errno(err), ms: elapsed() });
  }
} else if (mode === "timers") {
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 100);
  if (arg === "worker") {
    const worker = new Worker(new URL("./fgetxattr_thread.ts", import.meta.url).href);
    worker.postMessage({ fd, name: "user.probe" });
    let returned = false;
    const done = new Promise<unknown>((resolve) => {
      worker.onmessage = (event) => {
        returned = true;
        resolve(event.data);
      };
    });
    await Bun.sleep(3000);
    print({ where: "worker", maxTimerGapMs: Math.round(maxGap), callReturnedWithin3s: returned });
    const result = await done;
    print({ where: "worker", call: result, maxTimerGapMs: Math.round(maxGap), ms: elapsed() });
    worker.terminate();
  } else {
    await Bun.sleep(300);
    const t = performance.now();
    const result = fgetxattr(fd, "user.probe");
    const callMs = Math.round(performance.now() - t);
    await Bun.sleep(300);
    print({
      where: "main",
      call: result,
      callMs,
      maxTimerGapMs: Math.round(maxGap),
      ms: elapsed(),
    });
  }
  clearInterval(timer);
} else if (mode === "exit") {
  const worker = new Worker(new URL("./fgetxattr_thread.ts", import.meta.url).href);
  worker.postMessage({ fd, name: "user.probe" });
  await Bun.sleep(500);
  print({ exiting: true, pid: process.pid });
  process.exit(0);
} else if (mode === "fdcheck") {
  const out: Record<string, unknown> = { size: fstatSync(fd).size };
  try {
    out.slice = new TextDecoder().decode(await Bun.file(fd).slice(2, 7).arrayBuffer());
  } catch (err) {
    out.slice = `error ${errno(err)}`;
  }
  out.fsetxattr = fsetxattr(fd, "user.probe", "v1");
  out.fsetxattrAgain = fsetxattr(fd, "user.probe", "v2");
  out.fgetxattr = fgetxattr(fd, "user.probe");
  out.flistxattr = flistxattr(fd);
  out.fremovexattr = fremovexattr(fd, "user.probe");
  out.fgetxattrAfter = fgetxattr(fd, "user.probe");
  print(out);
}
