/**
 * The committed state a `committed` outcome carries (docs/protocol-v2.md section 2): which object
 * (version) holds which version of the file. Protocol v1's `user.tiermv.state` reads as the
 * state of epoch 0, so old commits stay valid. A state is a commit for this run only for this
 * path's key, the configured target and the descriptor's size, mtime and inode (view.ts).
 */
import * as v from "valibot";
import type { FileStat } from "../../runtime/types.ts";

const StateFields = {
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
};

/** A committed state: which object (version) holds which version of the file. */
export const StateSchema = v.object({
  v: v.literal(2),
  /**
   * "released" (docs/tiering.md): the file is a stub; size, mtimeNs, ino are the original's.
   * "removed": `tiermv remove` deleted the object (version) it names; the file is not archived.
   */
  state: v.picklist(["migrated", "released", "removed"]),
  ...StateFields,
  /** When release decided it (a `released` state). */
  releasedAt: v.optional(v.string()),
  /**
   * The task whose release decided it: the same task, run again after a crash, reports the file
   * `released` once more (its event may not have left the outbox), any other `skipped`.
   */
  releasedTask: v.optional(v.string()),
  /** That release's attempt: its `released` event's id (`<attempt>:released`), re-report included. */
  releasedAttempt: v.optional(v.string()),
  /** The storage class the upload asked for (`s3.storageClass`); absent: the bucket's default. */
  storageClass: v.optional(v.string()),
  /** The object's version id on a versioned bucket (every read and delete names it). */
  versionId: v.optional(v.string()),
  /** ctime of the stat under the epoch (the baseline of verify). */
  ctimeNs: v.optional(v.string()),
});
export type State = v.InferOutput<typeof StateSchema>;

/** Protocol v1's `user.tiermv.state` (no version id, no ctime). */
export const V1StateSchema = v.object({
  v: v.literal(1),
  state: v.literal("migrated"),
  ...StateFields,
});

/** A v1 state in v2's shape (what epoch 0 commits). */
export function stateOfV1(old: v.InferOutput<typeof V1StateSchema>): State {
  return { ...old, v: 2 };
}

/** The version of the file a state (or an object) records. */
export interface Version {
  size: number;
  mtimeNs: string;
  ino: string;
  ctimeNs: string;
}

export function newState(fields: {
  target: string;
  key: string;
  versionId: string | null;
  etag: string;
  version: Version;
  attempt: string;
  node: string;
  task: string;
  storageClass?: string;
}): State {
  const { target, key, versionId, etag, attempt, node, task } = fields;
  const { size, mtimeNs, ino, ctimeNs } = fields.version;
  const at = new Date().toISOString();
  const state: State = {
    v: 2,
    state: "migrated",
    target,
    key,
    etag,
    size,
    mtimeNs,
    ino,
    ctimeNs,
    attempt,
    node,
    task,
    at,
  };
  if (versionId !== null) state.versionId = versionId;
  if (fields.storageClass) state.storageClass = fields.storageClass;
  return state;
}

/** The version a stat describes (the descriptor's fstat). */
export function versionOf(stat: FileStat): Version {
  return { size: stat.size, mtimeNs: stat.mtimeNs, ino: stat.ino, ctimeNs: stat.ctimeNs };
}
