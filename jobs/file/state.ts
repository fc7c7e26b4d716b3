/**
 * A file's migration state, kept in its own xattrs on the shared filesystem:
 * `user.tiermv.lock` (created with XATTR_CREATE: exactly one attempt wins) and
 * `user.tiermv.state` (the committed record). Payloads are versioned JSON, validated on read.
 */
import * as v from "valibot";
import { XattrExistsError } from "../../runtime/errors.ts";
import type { FileStat, Runtime } from "../../runtime/types.ts";
import { TiermvError } from "../util/errors.ts";
import { parseJsonWith } from "../util/stored_file.ts";

export const LOCK_ATTR = "user.tiermv.lock";
export const STATE_ATTR = "user.tiermv.state";

export const LockSchema = v.object({
  v: v.literal(1),
  node: v.string(),
  task: v.string(),
  attempt: v.string(),
  pid: v.number(),
  host: v.string(),
  boot: v.string(),
  at: v.string(),
});
export type Lock = v.InferOutput<typeof LockSchema>;

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

/** An xattr that exists but is not a payload this version understands. */
export class XattrPayloadError extends TiermvError {
  override name = "XattrPayloadError";
  readonly code = "XATTR_PAYLOAD";
  constructor(
    readonly path: string,
    readonly attr: string,
    reason: string,
  ) {
    super(`Unreadable ${attr} on "${path}": ${reason}`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readPayload<T>(
  rt: Runtime,
  path: string,
  attr: string,
  schema: v.GenericSchema<unknown, T>,
): Promise<T | null> {
  const raw = await rt.xattr.get(path, attr);
  if (raw === null) return null;
  const parsed = parseJsonWith(schema, decoder.decode(raw));
  if (parsed.ok) return parsed.value;
  if (parsed.notJson) throw new XattrPayloadError(path, attr, "not JSON");
  const version = (parsed.json as { v?: unknown } | null)?.v;
  const newer = typeof version === "number" && version > 1;
  throw new XattrPayloadError(path, attr, newer ? `unknown version ${version}` : "invalid fields");
}

export function readLock(rt: Runtime, path: string): Promise<Lock | null> {
  return readPayload(rt, path, LOCK_ATTR, LockSchema);
}

export function readState(rt: Runtime, path: string): Promise<State | null> {
  return readPayload(rt, path, STATE_ATTR, StateSchema);
}

/** True when a committed state describes exactly this version of the file. */
export function stateMatches(state: State | null, stat: FileStat): state is State {
  return (
    state !== null &&
    state.size === stat.size &&
    state.mtimeNs === stat.mtimeNs &&
    state.ino === stat.ino
  );
}

export type LockResult =
  | { acquired: true }
  /** `holder` is null when the lock vanished since, or its payload is unreadable (`why`). */
  | { acquired: false; holder: Lock | null; why?: string };

/** Takes the lock with XATTR_CREATE: atomic on the metadata server, exactly one attempt wins. */
export async function tryLock(rt: Runtime, path: string, lock: Lock): Promise<LockResult> {
  try {
    await rt.xattr.set(path, LOCK_ATTR, encoder.encode(JSON.stringify(lock)), "create");
    return { acquired: true };
  } catch (err) {
    if (!(err instanceof XattrExistsError)) throw err;
  }
  try {
    return { acquired: false, holder: await readLock(rt, path) };
  } catch (err) {
    if (!(err instanceof XattrPayloadError)) throw err;
    return { acquired: false, holder: null, why: err.message };
  }
}

/**
 * Removes the lock only if it is the one of `attempt`: a lock is released by its own attempt, by
 * that attempt's rollback, or by recover, never by anybody else. Returns whether it removed it.
 */
export async function releaseLock(rt: Runtime, path: string, attempt: string): Promise<boolean> {
  let current: Lock | null;
  try {
    current = await readLock(rt, path);
  } catch (err) {
    // An unreadable lock is nobody's attempt we know: never ours to remove.
    if (err instanceof XattrPayloadError) return false;
    throw err;
  }
  if (current?.attempt !== attempt) return false;
  return rt.xattr.remove(path, LOCK_ATTR);
}

/** Writes the committed state (create or replace). */
export async function writeState(rt: Runtime, path: string, state: State): Promise<void> {
  await rt.xattr.set(path, STATE_ATTR, encoder.encode(JSON.stringify(state)), "any");
}
