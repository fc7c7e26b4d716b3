/**
 * The view of a file (docs/protocol-v2.md section 3): one flistxattr, then fgetxattr of `e.<max>`
 * and of lower `e.<k>` only until one carries a state. From it: the current state (the highest
 * state-bearing epoch, else v1's, else none) and who holds the file. Epoch n is live only while
 * n = max: an absent `e.<n>` below max means decided and garbage-collected, never "undecided".
 */
import type { FileHandle, FileStat, Listing, XattrRead } from "../../runtime/types.ts";
import {
  needsCleanup,
  type Outcome,
  OutcomeSchema,
  PREFIX,
  parseRecordName,
  recordName,
  type State,
  stateOfV1,
  type Take,
  TakeSchema,
  V1_LOCK,
  V1_STATE,
  V1StateSchema,
} from "./records.ts";
import { parseRecord, readRecord, XattrPayloadError } from "./xattr_record.ts";

/** The prefix of decisions (`e.<n>`): a listing's top read of it is the view's first read. */
export const DECISIONS = `${PREFIX}e.`;

export interface EpochNames {
  l: Set<number>;
  e: Set<number>;
  c: Set<number>;
  /** The highest epoch among `l.*` and `e.*` names (0: none). */
  max: number;
  v1Lock: boolean;
  v1State: boolean;
}

/** Who holds the file (section 3), or that it is free. */
export type Hold =
  | { kind: "free" }
  /** A v1 lock: busy until v1's own attempt or rollback removes it. */
  | { kind: "v1-lock" }
  /** `e.<max>` absent: held by `l.<max>`'s attempt; `take` null when `l.<max>` is unreadable. */
  | { kind: "undecided"; n: number; take: Take | null; unreadable?: string }
  /** `e.<max>` failed/revoked/interrupted and no `c.<max>`: held until its cleanup. */
  | { kind: "cleanup"; n: number; outcome: Outcome };

export interface View {
  names: EpochNames;
  max: number;
  /** The outcomes read, by epoch (e.<max> down to the current state's epoch). */
  outcomes: Map<number, Outcome>;
  /** The state that counts and its epoch (0: protocol v1's state). */
  current: { epoch: number; state: State } | null;
  hold: Hold;
}

/** The names of a file's records, from one flistxattr. */
export function epochNames(names: string[]): EpochNames {
  const out: EpochNames = {
    l: new Set(),
    e: new Set(),
    c: new Set(),
    max: 0,
    v1Lock: false,
    v1State: false,
  };
  for (const name of names) {
    if (name === V1_LOCK) out.v1Lock = true;
    else if (name === V1_STATE) out.v1State = true;
    const parsed = parseRecordName(name);
    if (!parsed) continue;
    out[parsed.kind].add(parsed.n);
    if (parsed.kind !== "c" && parsed.n > out.max) out.max = parsed.n;
  }
  return out;
}

/** "e.<n> absent and n = max": epoch n is live and undecided (the fence's test). */
export function isLiveUndecided(names: EpochNames, n: number): boolean {
  return names.max === n && !names.e.has(n);
}

export async function readOutcome(handle: FileHandle, n: number): Promise<Outcome | null> {
  return outcomeOf(handle.path, n, await handle.getXattr(recordName("e", n)));
}

/** `e.<n>` from its raw value (null: absent); throws XattrPayloadError when unreadable. */
function outcomeOf(path: string, n: number, raw: Uint8Array | null): Outcome | null {
  if (raw === null) return null;
  const attr = recordName("e", n);
  const outcome = parseRecord(raw, { path, attr, known: 2 }, OutcomeSchema);
  if (outcome.n !== n) throw new XattrPayloadError(path, attr, `names epoch ${outcome.n}`);
  return outcome;
}

/** A listing as the view reads it: names alone (a flistxattr), or with its top read. */
function listingOf(listed: string[] | Listing): Listing {
  return Array.isArray(listed) ? { names: listed, top: null } : listed;
}

/** `l.<n>`, or null with the reason when it is unreadable (absent: null, no reason). */
export async function readTake(
  handle: FileHandle,
  n: number,
): Promise<{ take: Take | null; unreadable?: string }> {
  try {
    const take = await readRecord(handle, recordName("l", n), TakeSchema);
    if (take && take.n !== n) return { take: null, unreadable: `names epoch ${take.n}` };
    return { take };
  } catch (err) {
    if (err instanceof XattrPayloadError) return { take: null, unreadable: err.reason };
    throw err;
  }
}

/**
 * Reads the view; `listed`: a flistxattr just made on this descriptor (in the hand-off of the
 * call before it), maybe with its top read of DECISIONS (the first fgetxattr below, made in that
 * hand-off), else one is made. Throws XattrPayloadError when an outcome or v1's state is
 * unreadable (the file is then left as it is); an unreadable `l.<max>` is a hold whose take is
 * unknown.
 */
export async function readView(handle: FileHandle, listed?: string[] | Listing): Promise<View> {
  const listing = listed ? listingOf(listed) : { names: await handle.listXattr(), top: null };
  const names = epochNames(listing.names);
  const { outcomes, current } = await stateOf(handle, names, listing.top);
  return { names, max: names.max, outcomes, current, hold: await holdOf(handle, names, outcomes) };
}

/**
 * The view right after our own take of an epoch (section 4, step 3), from the flistxattr made
 * with the take: max and the current state. Who holds the file is not read: while max is our
 * epoch we do (GC never removes epoch max), and when it is not, the attempt is abandoned.
 */
export async function viewAfterTake(
  handle: FileHandle,
  listed: string[] | Listing,
): Promise<Omit<View, "hold">> {
  const listing = listingOf(listed);
  const names = epochNames(listing.names);
  return { names, max: names.max, ...(await stateOf(handle, names, listing.top)) };
}

/**
 * fgetxattr of `e.<max>`, then of lower `e.<k>` until one carries a state; else v1's state.
 * `top`: the first of those reads, already made (the highest `e.<k>` listed), when it was.
 */
async function stateOf(
  handle: FileHandle,
  names: EpochNames,
  top: XattrRead | null = null,
): Promise<Pick<View, "outcomes" | "current">> {
  const outcomes = new Map<number, Outcome>();
  let current: View["current"] = null;
  const decided = [...names.e].sort((a, b) => b - a);
  for (const n of decided) {
    const read = top?.name === recordName("e", n) && n === decided[0];
    const outcome = read
      ? outcomeOf(handle.path, n, top?.value ?? null)
      : await readOutcome(handle, n);
    if (!outcome) continue; // removed by GC since the listing
    outcomes.set(n, outcome);
    if (outcome.state) {
      current = { epoch: n, state: outcome.state };
      break;
    }
  }
  if (!current && names.v1State) {
    const old = await readRecord(handle, V1_STATE, V1StateSchema, 1);
    if (old) current = { epoch: 0, state: stateOfV1(old) };
  }
  return { outcomes, current };
}

async function holdOf(
  handle: FileHandle,
  names: EpochNames,
  outcomes: Map<number, Outcome>,
): Promise<Hold> {
  if (names.v1Lock) return { kind: "v1-lock" };
  const n = names.max;
  if (n === 0) return { kind: "free" };
  const outcome = outcomes.get(n);
  if (!outcome) return { kind: "undecided", n, ...(await readTake(handle, n)) };
  if (needsCleanup(outcome.outcome) && !names.c.has(n)) return { kind: "cleanup", n, outcome };
  return { kind: "free" };
}

/** What makes a state a commit for this run: this path's key, this target, this version. */
export interface CommitIdentity {
  key: string;
  target: string;
  stat: FileStat;
}

/**
 * A state is a commit for this run only if it is `migrated`, names this path's key and the
 * configured target and its size, mtime and inode equal the descriptor's fstat (BRIEF 5b,
 * identity of a commit). A released or removed state never is.
 */
export function isCommitFor(state: State | null | undefined, id: CommitIdentity): state is State {
  return (
    !!state &&
    state.state === "migrated" &&
    state.key === id.key &&
    state.target === id.target &&
    state.size === id.stat.size &&
    state.mtimeNs === id.stat.mtimeNs &&
    state.ino === id.stat.ino
  );
}
