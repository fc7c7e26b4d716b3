/**
 * The node's heartbeat file, rewritten every scheduler tick: `{v, node, pid, host, version, at}`.
 * Its age says whether a node is live (rebalance gives tasks only to live nodes; recover refuses a
 * node with a fresh one). Clocks matter here only for liveness, never for safety.
 */
import type { Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "./layout.ts";

export const VERSION = "0.1.0";

export async function writeHeartbeat(rt: Runtime, dirs: NodeDirs, node: string): Promise<void> {
  const tmp = `${dirs.heartbeat}.tmp`;
  const body = {
    v: 1,
    node,
    pid: rt.process.pid,
    host: rt.process.hostname,
    version: VERSION,
    at: new Date().toISOString(),
  };
  await rt.fs.writeDurable(tmp, `${JSON.stringify(body)}\n`);
  await rt.fs.rename(tmp, dirs.heartbeat);
}

/** Milliseconds since the node's last heartbeat; null when it never wrote a readable one. */
export async function heartbeatAgeMs(rt: Runtime, dirs: NodeDirs): Promise<number | null> {
  if (!(await rt.fs.exists(dirs.heartbeat))) return null;
  try {
    const beat = JSON.parse(await rt.fs.readText(dirs.heartbeat)) as { at?: string };
    const at = Date.parse(beat.at ?? "");
    return Number.isNaN(at) ? null : Date.now() - at;
  } catch {
    return null;
  }
}
