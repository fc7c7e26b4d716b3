/**
 * The committed state of a file, `user.tiermv.state` in its own xattrs on the shared filesystem:
 * which object holds which version (size, mtime, inode) of the file. Written at commit, under the
 * lock; rollback never deletes an object that a state names (I2).
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import { readRecord, writeRecord } from "./xattr_record.ts";

export const STATE_ATTR = "user.tiermv.state";

export const StateSchema = v.object({
  v: v.literal(1),
  state: v.literal("migrated"),
  target: v.string(),
  key: v.string(),
  etag: v.string(),
  size: v.number(),
  mtimeNs: v.string(),
  ino: v.string(),
  attempt: v.string(),
  node: v.string(),
  task: v.string(),
  at: v.string(),
});
export type State = v.InferOutput<typeof StateSchema>;

/** What identifies one version of a file: a stat, a state and an object's metadata all carry it. */
export interface Version {
  size: number;
  mtimeNs: string;
  ino: string;
}

/** True when `a` and `b` describe the same version of the file (size, mtime and inode). */
export function sameVersion(a: Version, b: Version): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino;
}

/** True when a committed state describes exactly this version of the file. */
export function stateMatches(state: State | null, stat: Version): state is State {
  return state !== null && sameVersion(state, stat);
}

/** The state a commit writes: `version` is the stat taken under the lock, before any upload. */
export function newState(fields: {
  target: string;
  key: string;
  etag: string;
  version: Version;
  attempt: string;
  node: string;
  task: string;
}): State {
  const { target, key, etag, attempt, node, task } = fields;
  const { size, mtimeNs, ino } = fields.version;
  const at = new Date().toISOString();
  return {
    v: 1,
    state: "migrated",
    target,
    key,
    etag,
    size,
    mtimeNs,
    ino,
    attempt,
    node,
    task,
    at,
  };
}

export function readState(rt: Runtime, path: string): Promise<State | null> {
  return readRecord(rt, path, STATE_ATTR, StateSchema);
}

/** Writes the committed state (create or replace). */
export async function writeState(rt: Runtime, path: string, state: State): Promise<void> {
  await writeRecord(rt, path, STATE_ATTR, { value: state, mode: "any" });
}
