/**
 * The node's heartbeat file, rewritten at the start of every tick and every
 * `schedule.heartbeatMs` while the node works (a timer, so a long task keeps it fresh):
 * `{v, node, pid, host, proc, version, at}`. A node is live while its heartbeat is younger than
 * 6 heartbeats (config.ts `liveWithinMs`): rebalance gives tasks only to live nodes, recover
 * refuses a live node without --force. Clocks matter here only for liveness, never for safety.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import type { Log } from "../context/job_context.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";
import { VERSION } from "../util/version.ts";
import type { NodeDirs } from "./layout.ts";

const HeartbeatSchema = v.object({
  v: v.union([v.literal(1), v.literal(2)]),
  node: v.string(),
  pid: v.number(),
  host: v.string(),
  /** The process identity (v2): machine, boot, pid, start time. */
  proc: v.optional(v.object({ machine: v.string(), boot: v.string(), start: v.string() })),
  version: v.string(),
  at: v.string(),
});

export async function writeHeartbeat(rt: Runtime, dirs: NodeDirs, node: string): Promise<void> {
  const { pid, hostname: host } = rt.process;
  const { machine, boot, start } = rt.process.identity();
  const at = new Date().toISOString();
  const beat = { v: 2, node, pid, host, proc: { machine, boot, start }, version: VERSION, at };
  await replaceDurably(rt, dirs.heartbeat, `${JSON.stringify(beat)}\n`);
}

/**
 * Rewrites the heartbeats of `nodes` every `everyMs` until stopped (writes go through the mount
 * pool: a hung mount makes one write fail, logged, and the next one tries again).
 */
export function startHeartbeats(
  rt: Runtime,
  beats: { dirs: NodeDirs; node: string }[],
  options: { everyMs: number; log: Log },
): { stop(): void } {
  let writing = false;
  const timer = setInterval(async () => {
    if (writing) return; // the previous one is still stuck in the mount
    writing = true;
    try {
      for (const { dirs, node } of beats) await writeHeartbeat(rt, dirs, node);
    } catch (err) {
      options.log.warn(`Heartbeat not written: ${(err as Error).message}`);
    } finally {
      writing = false;
    }
  }, options.everyMs);
  return { stop: () => clearInterval(timer) };
}

/** Milliseconds since the node's last heartbeat; null when it never wrote a readable one. */
export async function heartbeatAgeMs(rt: Runtime, dirs: NodeDirs): Promise<number | null> {
  let beat: v.InferOutput<typeof HeartbeatSchema> | null;
  try {
    beat = await readJsonFile(rt, dirs.heartbeat, HeartbeatSchema);
  } catch (err) {
    if (err instanceof StoredFileError) return null;
    throw err;
  }
  const at = Date.parse(beat?.at ?? "");
  return Number.isNaN(at) ? null : Date.now() - at;
}
