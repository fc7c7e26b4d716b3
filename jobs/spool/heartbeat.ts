/**
 * The node's heartbeat file, rewritten every scheduler tick: `{v, node, pid, host, version, at}`.
 * Its age says whether a node is live (rebalance gives tasks only to live nodes; recover refuses a
 * node with a fresh one). Clocks matter here only for liveness, never for safety.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";
import { VERSION } from "../util/version.ts";
import type { NodeDirs } from "./layout.ts";

const HeartbeatSchema = v.object({
  v: v.literal(1),
  node: v.string(),
  pid: v.number(),
  host: v.string(),
  version: v.string(),
  at: v.string(),
});
type Heartbeat = v.InferOutput<typeof HeartbeatSchema>;

export async function writeHeartbeat(rt: Runtime, dirs: NodeDirs, node: string): Promise<void> {
  const { pid, hostname: host } = rt.process;
  const beat: Heartbeat = { v: 1, node, pid, host, version: VERSION, at: new Date().toISOString() };
  await replaceDurably(rt, dirs.heartbeat, `${JSON.stringify(beat)}\n`);
}

/** Milliseconds since the node's last heartbeat; null when it never wrote a readable one. */
export async function heartbeatAgeMs(rt: Runtime, dirs: NodeDirs): Promise<number | null> {
  let beat: Heartbeat | null;
  try {
    beat = await readJsonFile(rt, dirs.heartbeat, HeartbeatSchema);
  } catch (err) {
    if (err instanceof StoredFileError) return null;
    throw err;
  }
  const at = Date.parse(beat?.at ?? "");
  return Number.isNaN(at) ? null : Date.now() - at;
}
