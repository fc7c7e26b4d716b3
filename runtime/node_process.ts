/** The process half of the Runtime, on node:process and node:os (native in Bun and Deno). */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { errorCode } from "./errors.ts";
import type { RuntimeProcess } from "./types.ts";

function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // Not Linux: fall back to a value that never matches another boot's by accident.
    return `unknown-${hostname()}`;
  }
}

export function createNodeProcess(): RuntimeProcess {
  const bootId = readBootId();
  return {
    pid: process.pid,
    hostname: hostname(),
    bootId,
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
  };
}
