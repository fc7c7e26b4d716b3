/** The process half of the Runtime, on node:process, node:os and /proc (native in Bun and Deno). */
import { hostname } from "node:os";
import process from "node:process";
import { errorCode } from "./errors.ts";
import type { LibcFile } from "./libc_file.ts";
import { lockLocalFile } from "./local_lock.ts";
import { processStateOf, readIdentity } from "./process_identity.ts";
import type { RuntimeProcess } from "./types.ts";

export function createNodeProcess(libc: LibcFile): RuntimeProcess {
  const self = readIdentity();
  return {
    pid: process.pid,
    hostname: hostname(),
    bootId: self.boot,
    isAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        // EPERM: the process exists but belongs to someone else.
        return errorCode(err) === "EPERM";
      }
    },
    env: (name) => process.env[name],
    cwd: () => process.cwd(),
    kill: (pid, signal) => void process.kill(pid, signal),
    identity: () => ({ ...self }),
    processState: (identity) => processStateOf(identity, self),
    lockLocalFile: (path, content) => lockLocalFile(libc, path, content),
  };
}
