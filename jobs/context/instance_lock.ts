/**
 * One scheduler per node on a host: an exclusive flock on a local file in one fixed directory
 * per host (`options.dir`: TIERMV_LOCK_DIR, else the CLI's default, cli/lock_dir.ts). The kernel releases it when its process is gone, however it died, so a
 * reused pid never keeps a node from starting (a pid file did). The holder writes its identity
 * into the file for messages only; the lock itself is the flock.
 *
 * A second instance says plainly why it cannot run: a holder that is a zombie (it exited, but a
 * thread of it is stuck in a hung mount, so it keeps its lock and may still act) or that is alive
 * but silent (heartbeat older than 6 schedule.heartbeatMs) is an operator's problem, reported as an
 * error (`stuck`); a healthy holder is the normal overlap of cron runs.
 */
import * as v from "valibot";
import type { ProcessState, Runtime } from "../../runtime/types.ts";
import { heartbeatAgeMs } from "../spool/heartbeat.ts";
import { nodeDirs } from "../spool/layout.ts";
import { MountUnavailableError, TiermvError } from "../util/errors.ts";
import { parseJsonWith } from "../util/stored_file.ts";

/** What a second instance found out about the one that holds the lock. */
export interface LockHolder {
  /** Null when the holder has not written its identity yet (it is taking the lock). */
  pid: number | null;
  state: ProcessState | "unknown";
  /** How long the holder has been silent: since its last heartbeat or since it took the lock. */
  silentMs: number | null;
  /** Needs an operator: a zombie, a holder that is not the recorded process, or a silent one. */
  stuck: boolean;
}

/** Another instance of this node's scheduler runs on this host; `holder` says how it looks. */
export class AlreadyRunningError extends TiermvError {
  constructor(
    message: string,
    readonly holder: LockHolder,
  ) {
    super("ALREADY_RUNNING", message);
  }
}

export interface InstanceLock {
  release(): Promise<void>;
}

const LockFileSchema = v.object({
  v: v.literal(1),
  node: v.string(),
  identity: v.object({
    machine: v.string(),
    boot: v.string(),
    pid: v.number(),
    start: v.string(),
    pidNs: v.optional(v.string()),
  }),
  at: v.string(),
});

/**
 * The lock file of `node` of `spool` in the lock directory `dir` (local to the host). The spool
 * is named as written (the lock comes before any call on the mount), normalised lexically so
 * that `/mnt/spool/` and `/mnt//spool` are one lock, with a hash of the whole path so that two
 * spools whose readable tags agree (`a-b`, `a_b`) are never one.
 */
export function instanceLockPath(dir: string, spool: string, node: string): string {
  const path = normalizePath(spool);
  const tag = path.replace(/[^A-Za-z0-9]+/g, "_").slice(-64);
  return `${dir}/tiermv-${tag}-${fnv1a(path)}-${node}.lock`;
}

/** `a//b/./c/../d/` → `a/b/d` (no call on the filesystem: symlinks stay as written). */
function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else parts.push(part);
  }
  return `${path.startsWith("/") ? "/" : ""}${parts.join("/")}`;
}

/** 32-bit FNV-1a of the path, in hex: a short name, not a security measure. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * Takes this node's single-instance lock, or throws AlreadyRunningError describing the holder.
 * Never blocks: the lock file is local (a direct call), and the holder's heartbeat is read from
 * the spool within the mount deadline.
 */
export async function acquireInstanceLock(
  rt: Runtime,
  spool: string,
  node: string,
  options: { liveWithinMs: number; dir: string },
): Promise<InstanceLock> {
  const { dir } = options;
  const path = instanceLockPath(dir, spool, node);
  const record = { v: 1, node, identity: rt.process.identity(), at: new Date().toISOString() };
  const taken = rt.process.lockLocalFile(path, `${JSON.stringify(record)}\n`);
  if (taken.acquired) return { release: async () => taken.lock.release() };

  const parsed = parseJsonWith(LockFileSchema, taken.holder);
  const held = parsed.ok ? parsed.value : null;
  const state = held ? rt.process.processState(held.identity) : "unknown";
  const beat = await readHeartbeat(rt, spool, node);
  // Silent since its last heartbeat, or since it took the lock if that is later (a heartbeat
  // older than the lock was written by an earlier run).
  const ages = [beat.ageMs, held ? Date.now() - Date.parse(held.at) : Number.NaN];
  const known = ages.filter((ms): ms is number => ms !== null && !Number.isNaN(ms));
  const silentMs = known.length > 0 ? Math.min(...known) : null;
  const silent = beat.unreadable !== undefined || (silentMs ?? 0) > options.liveWithinMs;
  const holder: LockHolder = {
    pid: held?.identity.pid ?? null,
    state,
    silentMs,
    stuck: state === "zombie" || state === "dead" || (state !== "unknown" && silent),
  };
  const message = describe({ node, path, holder, beat, liveWithinMs: options.liveWithinMs });
  throw new AlreadyRunningError(message, holder);
}

/** The node's heartbeat age; a mount that does not answer is reported, not thrown. */
async function readHeartbeat(
  rt: Runtime,
  spool: string,
  node: string,
): Promise<{ ageMs: number | null; unreadable?: string }> {
  try {
    return { ageMs: await heartbeatAgeMs(rt, nodeDirs(spool, node)) };
  } catch (err) {
    if (!(err instanceof MountUnavailableError)) throw err;
    return { ageMs: null, unreadable: err.message };
  }
}

function describe(r: {
  node: string;
  path: string;
  holder: LockHolder;
  beat: { ageMs: number | null; unreadable?: string };
  liveWithinMs: number;
}): string {
  const { node, path, holder, beat } = r;
  const { pid, state, silentMs } = holder;
  const heartbeat = beat.unreadable
    ? `its heartbeat cannot be read (${beat.unreadable})`
    : beat.ageMs === null
      ? "no heartbeat yet"
      : `heartbeat ${duration(beat.ageMs)} ago`;
  const over =
    (silentMs ?? 0) > r.liveWithinMs
      ? ` (more than 6 heartbeats of schedule.heartbeatMs, ${duration(r.liveWithinMs)})`
      : "";
  const silentFor = beat.unreadable
    ? heartbeat
    : `its heartbeat has been silent for ${duration(silentMs ?? 0)}${over}`;
  const lock = `lock ${path}`;
  switch (state) {
    case "zombie":
      return `Node "${node}" is already running here, stuck: pid ${pid} is a zombie (it exited, but a thread of it is stuck in the kernel: is the shared mount hung?) and ${silentFor}. It keeps its lock until that call returns; killing it does not help, the mount must answer again (${lock})`;
    case "dead":
      return `Node "${node}" is already running here, held by an unknown process: the lock names pid ${pid}, which is gone, yet the lock is held (${lock}; find the holder with fuser)`;
    case "unknown":
      return `Node "${node}" is already running here (another process is taking the lock right now; ${lock})`;
    default: {
      const where =
        state === "elsewhere" ? " on another machine or boot (is the lock directory shared?)" : "";
      if (!holder.stuck)
        return `Node "${node}" is already running here (pid ${pid}${where}, ${heartbeat}; ${lock})`;
      return `Node "${node}" is already running here but looks stuck: pid ${pid}${where} is ${state} and ${silentFor}. Is the shared mount hung? Check it before killing the process (${lock})`;
    }
  }
}

/** "1.5 s", "42 s", "5 min", "2 h". */
function duration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
