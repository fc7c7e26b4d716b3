/**
 * Whether the attempt holding an epoch is gone (docs/protocol-v2.md section 7). Its process is
 * dead only as seen from the same machine: when its boot id is not the current one (a reboot), or,
 * on the same boot, when no process with that pid and start time exists. A zombie (exited with a
 * thread stuck in a frozen mount) is alive. On another machine nothing is dead: that is recover's
 * case. An unreadable take record is stale once the file's ctime is older than a grace period
 * (ctime is at or after the record's write, so its age is never overestimated).
 */
import type { FileStat, Runtime } from "../../runtime/types.ts";
import type { Take } from "./records.ts";

export type Liveness = "dead" | "alive" | "elsewhere";

/** The state of the process that took an epoch, as this process can judge it. */
export function livenessOf(rt: Runtime, proc: Take["proc"]): Liveness {
  const self = rt.process.identity();
  if (proc.machine !== self.machine) return "elsewhere";
  if (proc.boot !== self.boot) return "dead";
  const state = rt.process.processState(proc);
  if (state === "dead") return "dead";
  if (state === "elsewhere") return "elsewhere"; // another pid namespace
  return "alive"; // alive, or a zombie: it may still act
}

/**
 * Attempts of this process abandoned after a call on the mount timed out (the call may still
 * land): the attempt did nothing more on its epoch (docs/protocol-v2.md section 7).
 */
const abandoned = new Set<string>();

export function abandonAttempt(attempt: string): void {
  abandoned.add(attempt);
}

/**
 * A take by this node whose process is dead: this node resolves it itself (section 7). An
 * attempt this very process abandoned after a mount timeout counts as dead once no call of the
 * pool is stuck any more (the timed-out call has returned: nothing of it is in flight).
 */
export function isOwnDeadTake(rt: Runtime, node: string, take: Take): boolean {
  if (take.node !== node) return false;
  const self = rt.process.identity();
  const mine = take.proc.pid === self.pid && take.proc.start === self.start;
  if (mine && take.proc.boot === self.boot && take.proc.machine === self.machine)
    return abandoned.has(take.attempt) && rt.mountStatus().abandoned === 0;
  return livenessOf(rt, take.proc) === "dead";
}

/** Milliseconds since the file's last change (ctime), from a stat of its descriptor. */
export function ctimeAgeMs(stat: FileStat, now = Date.now()): number {
  return now - Number(BigInt(stat.ctimeNs) / 1_000_000n);
}

/** An unreadable `l.<n>` is stale once the file's ctime is older than the grace. */
export function isStaleUnreadable(stat: FileStat, graceMs: number, now = Date.now()): boolean {
  return ctimeAgeMs(stat, now) > graceMs;
}

/** A short description of a take's holder, for busy outcomes, verify and inspect. */
export function describeTake(rt: Runtime, take: Take): string {
  const live = livenessOf(rt, take.proc);
  const where = live === "elsewhere" ? `on machine ${take.proc.machine.slice(0, 12)}` : live;
  return `node ${take.node} (attempt ${take.attempt}, epoch ${take.n}, pid ${take.proc.pid} ${where}, since ${take.at})`;
}
