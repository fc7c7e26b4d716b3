/**
 * Process identity and liveness from /proc (docs/design.md, end of section 5a): a process is
 * named by machine id, boot id, pid and start time, so a reused pid is told apart from the
 * process that held something. Reads of /proc and /etc are local: direct calls, never on the
 * shared mount.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import type { ProcessIdentity, ProcessState } from "./types.ts";

function readTrimmed(path: string): string | null {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text.length > 0 ? text : null;
  } catch {
    return null;
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parens). */
function statFields(path: string): string[] | null {
  const text = readTrimmed(path);
  if (text === null) return null;
  const end = text.lastIndexOf(")");
  return end < 0 ? null : text.slice(end + 2).split(" ");
}

// Field n of /proc/<pid>/stat (1-based, as in proc(5)) is statFields()[n - 3].
const STATE = 0; // field 3
const START = 19; // field 22: starttime, clock ticks since boot

export function readIdentity(): ProcessIdentity {
  const pid = process.pid;
  const fields = statFields(`/proc/${pid}/stat`);
  let pidNs: string | undefined;
  try {
    pidNs = readlinkSync("/proc/self/ns/pid");
  } catch {
    pidNs = undefined;
  }
  return {
    machine:
      readTrimmed("/etc/machine-id") ?? readTrimmed("/var/lib/dbus/machine-id") ?? hostname(),
    boot: readTrimmed("/proc/sys/kernel/random/boot_id") ?? `unknown-${hostname()}`,
    pid,
    start: fields?.[START] ?? "unknown",
    ...(pidNs ? { pidNs } : {}),
  };
}

/** Exited states of a task: Z (zombie) and X (dead). */
const EXITED = new Set(["Z", "X"]);

/**
 * The state of the process named by `identity`, as seen from `self` (see ProcessState). A
 * process whose main thread is a zombie while another of its threads is still in the kernel is
 * "zombie": it exited, but a thread stuck in a hung mount keeps its descriptors and locks.
 */
export function processStateOf(identity: ProcessIdentity, self: ProcessIdentity): ProcessState {
  if (identity.machine !== self.machine || identity.boot !== self.boot) return "elsewhere";
  if (identity.pidNs && self.pidNs && identity.pidNs !== self.pidNs) return "elsewhere";
  const fields = statFields(`/proc/${identity.pid}/stat`);
  if (fields === null) return "dead";
  if (fields[START] !== identity.start) return "dead";
  if (!EXITED.has(fields[STATE] ?? "")) return "alive";
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${identity.pid}/task`);
  } catch {
    return "dead";
  }
  for (const tid of tasks) {
    if (tid === String(identity.pid)) continue;
    const state = statFields(`/proc/${identity.pid}/task/${tid}/stat`)?.[STATE];
    if (state !== undefined && !EXITED.has(state)) return "zombie";
  }
  return "dead";
}
