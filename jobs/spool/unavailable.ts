/**
 * What stopped this node's last tick: `nodes/<node>/unavailable.json`, written when a tick stops
 * because the mount or the target is unavailable as a whole, removed by the next tick that runs
 * to its end. `status`, `/metrics` and `/readyz` read it, so an operator sees which one and why
 * without reading the node's log.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";
import type { NodeDirs } from "./layout.ts";

const UnavailableSchema = v.object({
  v: v.literal(1),
  what: v.picklist(["mount", "target"]),
  error: v.string(),
  at: v.string(),
});
export type Unavailable = v.InferOutput<typeof UnavailableSchema>;

const pathOf = (dirs: NodeDirs) => `${dirs.root}/unavailable.json`;

export async function recordUnavailable(
  rt: Runtime,
  dirs: NodeDirs,
  found: { what: "mount" | "target"; error: string },
): Promise<void> {
  const body = { v: 1, ...found, at: new Date().toISOString() };
  await replaceDurably(rt, pathOf(dirs), `${JSON.stringify(body)}\n`);
}

export function clearUnavailable(rt: Runtime, dirs: NodeDirs): Promise<void> {
  return rt.fs.remove(pathOf(dirs));
}

/** The last tick's unavailability, null when it ran to its end (or never ran). */
export async function lastUnavailable(rt: Runtime, dirs: NodeDirs): Promise<Unavailable | null> {
  try {
    return await readJsonFile(rt, pathOf(dirs), UnavailableSchema);
  } catch (err) {
    if (err instanceof StoredFileError) return null;
    throw err;
  }
}
