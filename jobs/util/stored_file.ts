/**
 * Small stored files (plan, heartbeat, ledger result and lock, cursors, metrics, report status):
 * written so that a reader never sees half of one, and read back through a valibot schema, so a
 * torn, foreign or newer file is an error that names the file instead of a crash further on.
 */
import * as v from "valibot";
import { isExists, isNotFound } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { TiermvError } from "./errors.ts";
import { newAttemptId } from "./ids.ts";
import { describeIssue, isUnknownKey } from "./schema_issues.ts";

/** A stored file that exists but is not what its schema says (torn, foreign, newer). */
export class StoredFileError extends TiermvError {
  constructor(path: string, why: string) {
    super("STORED_FILE", `Unreadable "${path}": ${why}`);
  }
}

export type Parsed<T> =
  | { ok: true; value: T }
  /** `json` is the parsed value when the text was JSON but failed the schema. */
  | { ok: false; why: string; notJson: boolean; json?: unknown };

/**
 * Parses `text` as JSON and validates it. `why` is "not JSON", or the first issue as
 * "<dot path> <message>" (`topLevel` names the value itself when the issue has no path).
 */
export function parseJsonWith<T>(
  schema: v.GenericSchema<unknown, T>,
  text: string,
  options: { topLevel?: string } = {},
): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, why: "not JSON", notJson: true };
  }
  // valibot's object schemas (every kind has `entries`) take an array as an object with no keys
  // ("paths is required"): an array where an object is expected is said as such, as null is.
  if (Array.isArray(json) && "entries" in schema)
    return {
      ok: false,
      why: `${options.topLevel ?? "value"} must be an object, got an array`,
      notJson: false,
      json,
    };
  const result = v.safeParse(schema, json);
  if (result.success) return { ok: true, value: result.output };
  // An unknown field is named first: a typo usually explains the other issues.
  const issue = result.issues.find(isUnknownKey) ?? result.issues[0];
  const where = v.getDotPath(issue) ?? options.topLevel ?? "value";
  const why = isUnknownKey(issue) ? `unknown field "${where}"` : `${where} ${describeIssue(issue)}`;
  return { ok: false, why, notJson: false, json };
}

/**
 * Reads and validates a JSON file; null when it does not exist, or vanishes as it is read (a
 * lock another process releases: not an exists-then-read, which would throw ENOENT there).
 * Throws StoredFileError.
 */
export async function readJsonFile<T>(
  rt: Runtime,
  path: string,
  schema: v.GenericSchema<unknown, T>,
): Promise<T | null> {
  const text = await unlessMissing(rt.fs.readText(path));
  if (text === null) return null;
  const parsed = parseJsonWith(schema, text);
  if (!parsed.ok) throw new StoredFileError(path, parsed.why);
  return parsed.value;
}

/**
 * Replaces `path` with `text` durably: written to a temporary name of its own
 * (`<path>.<random>.tmp`), fsynced, renamed over it. A crash leaves the old or the new content,
 * never a mix, and two writers at once each publish a whole file (the last rename wins) instead
 * of writing into one shared temporary file. A failed write removes its temporary file.
 */
export async function replaceDurably(rt: Runtime, path: string, text: string): Promise<void> {
  const tmp = `${path}.${newAttemptId()}.tmp`;
  try {
    await rt.fs.writeDurable(tmp, text);
    await rt.fs.rename(tmp, path);
  } catch (err) {
    await rt.fs.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * A cursor: a count of lines already processed, kept as plain text (`<n>\n`) so that an operator
 * or a script can read it. Missing or unreadable counts as 0 (the lines are replayed, which every
 * reader of a cursor makes harmless).
 */
export async function readCursor(rt: Runtime, path: string): Promise<number> {
  const text = await unlessMissing(rt.fs.readText(path));
  if (text === null) return 0;
  const value = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

export async function writeCursor(rt: Runtime, path: string, lines: number): Promise<void> {
  await replaceDurably(rt, path, `${lines}\n`);
}

/**
 * Creates a file with its full content in one step; returns false when `path` already exists.
 * Written under a unique temporary name, then hard-linked into place: unlike O_EXCL + write, a
 * concurrent reader never sees it empty or half written (a torn lock file would look stale).
 */
export async function createAtomically(rt: Runtime, path: string, data: string): Promise<boolean> {
  const tmp = `${path}.${newAttemptId()}.tmp`;
  await rt.fs.writeDurable(tmp, data);
  return linkIntoPlace(rt, tmp, path);
}

/**
 * Publishes the fully written file `tmp` as `path` by a hard link (no-clobber: false when `path`
 * exists), then removes `tmp` in any case.
 */
export async function linkIntoPlace(rt: Runtime, tmp: string, path: string): Promise<boolean> {
  try {
    await rt.fs.link(tmp, path);
    return true;
  } catch (err) {
    if (isExists(err)) return false;
    throw err;
  } finally {
    await rt.fs.remove(tmp);
  }
}

/** `work`'s value, or null when it fails because its path does not exist (ENOENT, ENOTDIR). */
export async function unlessMissing<T>(work: Promise<T>): Promise<T | null> {
  try {
    return await work;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Renames `from` to `to`; false when `from` is not there (another process moved it first, or a
 * rerun after a crash finds it moved already): in a queue of renames that is not an error.
 */
export async function renameIfPresent(rt: Runtime, from: string, to: string): Promise<boolean> {
  return (await unlessMissing(rt.fs.rename(from, to).then(() => true))) ?? false;
}

/** A small note (a `.why` file): its trimmed text, or null when it is missing or empty. */
export async function readNote(rt: Runtime, path: string): Promise<string | null> {
  return (await unlessMissing(rt.fs.readText(path)))?.trim() || null;
}
