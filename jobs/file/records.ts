/**
 * The per-file records of protocol v2 (docs/protocol-v2.md section 2), each an xattr on the
 * file's inode, created once with XATTR_CREATE under a name that is never reused:
 * - `l.<n>` (take): the attempt that took epoch n;
 * - `e.<n>` (decide): epoch n's outcome, written by whoever decides it first;
 * - `c.<n>` (clean): the store cleanup of a failed/revoked/interrupted epoch is done.
 * The only removals are garbage collection (gc.ts). A v1 `user.tiermv.state` reads as epoch 0's
 * state; a v1 `user.tiermv.lock` makes the file busy (every node must be drained to upgrade).
 * Schemas and their named-option constructors live together here.
 */
import * as v from "valibot";
import type { ProcessIdentity } from "../../runtime/types.ts";
import { type State, StateSchema } from "./state_record.ts";

export const PREFIX = "user.tiermv.";
/** Protocol v1's committed state: read as the state of epoch 0. */
export const V1_STATE = "user.tiermv.state";
/** Protocol v1's lock: a v2 attempt treats the file as busy while it exists. */
export const V1_LOCK = "user.tiermv.lock";

export type RecordKind = "l" | "e" | "c";

export function recordName(kind: RecordKind, n: number): string {
  return `${PREFIX}${kind}.${n}`;
}

const NAME = /^user\.tiermv\.([lec])\.([1-9][0-9]{0,14})$/;

/** The kind and epoch of a v2 record name; null for any other name. */
export function parseRecordName(name: string): { kind: RecordKind; n: number } | null {
  const match = NAME.exec(name);
  return match ? { kind: match[1] as RecordKind, n: Number(match[2]) } : null;
}

const Epoch = v.pipe(v.number(), v.integer(), v.minValue(1));

const ProcSchema = v.object({
  machine: v.string(),
  boot: v.string(),
  pid: v.number(),
  start: v.string(),
  pidNs: v.optional(v.string()),
});

/** `l.<n>`: who took epoch n, with the process identity that says whether it is alive. */
export const TakeSchema = v.object({
  v: v.literal(2),
  n: Epoch,
  attempt: v.string(),
  action: v.picklist(["migrate"]),
  node: v.string(),
  task: v.string(),
  proc: ProcSchema,
  key: v.string(),
  target: v.string(),
  at: v.string(),
});
export type Take = v.InferOutput<typeof TakeSchema>;

export function newTake(fields: {
  n: number;
  attempt: string;
  node: string;
  task: string;
  proc: ProcessIdentity;
  key: string;
  target: string;
}): Take {
  const { n, attempt, node, task, proc, key, target } = fields;
  const at = new Date().toISOString();
  return { v: 2, n, attempt, action: "migrate", node, task, proc: { ...proc }, key, target, at };
}

export const OUTCOMES = [
  "committed",
  "skipped",
  "modified",
  "vanished",
  "moved",
  "aborted",
  "failed",
  "interrupted",
  "revoked",
] as const;
export type EpochOutcome = (typeof OUTCOMES)[number];

/** Outcomes whose store writes may have left something behind: the epoch stays held until c.<n>. */
export function needsCleanup(outcome: EpochOutcome): boolean {
  return outcome === "failed" || outcome === "revoked" || outcome === "interrupted";
}

/** Who decided: the holder itself, or someone on its behalf. */
export type DeciderRole = "holder" | "resolver" | "rollback" | "revoker";

const BySchema = v.object({
  node: v.string(),
  role: v.picklist(["holder", "resolver", "rollback", "revoker"]),
});

/** `e.<n>`: epoch n's outcome; `committed` carries the state, nothing else does. */
export const OutcomeSchema = v.pipe(
  v.object({
    v: v.literal(2),
    n: Epoch,
    attempt: v.string(),
    outcome: v.picklist(OUTCOMES),
    by: BySchema,
    state: v.optional(StateSchema),
    error: v.optional(v.string()),
    /** Unversioned bucket, window fence: a store write of the epoch got no answer. */
    ambiguous: v.optional(v.boolean()),
    at: v.string(),
  }),
  v.check((o) => (o.outcome === "committed") === (o.state !== undefined), "state and outcome"),
);
export type Outcome = v.InferOutput<typeof OutcomeSchema>;

export function newOutcome(fields: {
  n: number;
  attempt: string;
  outcome: EpochOutcome;
  by: { node: string; role: DeciderRole };
  state?: State;
  error?: string;
  ambiguous?: boolean;
}): Outcome {
  const { n, attempt, outcome, by, state, error, ambiguous } = fields;
  const record: Outcome = {
    v: 2,
    n,
    attempt,
    outcome,
    by: { ...by },
    at: new Date().toISOString(),
  };
  if (state) record.state = state;
  if (error !== undefined) record.error = error.slice(0, 512);
  if (ambiguous) record.ambiguous = true;
  return record;
}

/** `c.<n>`: the cleanup of epoch n is done; the file is free for epoch n+1. */
export const CleanSchema = v.object({
  v: v.literal(2),
  n: Epoch,
  by: BySchema,
  at: v.string(),
});
export type Clean = v.InferOutput<typeof CleanSchema>;

export function newClean(fields: { n: number; by: { node: string; role: DeciderRole } }): Clean {
  return { v: 2, n: fields.n, by: { ...fields.by }, at: new Date().toISOString() };
}

export {
  newState,
  type State,
  StateSchema,
  stateOfV1,
  V1StateSchema,
  type Version,
  versionOf,
} from "./state_record.ts";
