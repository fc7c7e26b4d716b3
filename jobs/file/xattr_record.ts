/**
 * A file's xattr records are versioned JSON, read and created on the attempt's descriptor
 * (fgetxattr, fsetxattr with XATTR_CREATE): the record belongs to the inode that was opened,
 * whatever happens to the path. A payload that is garbage or of a newer version is reported and
 * never overwritten (records are never overwritten at all: they are created once).
 */
import type * as v from "valibot";
import { XattrExistsError } from "../../runtime/errors.ts";
import type { FileHandle, Listing, ListingReads } from "../../runtime/types.ts";
import { TiermvError } from "../util/errors.ts";
import { parseJsonWith } from "../util/stored_file.ts";

/** An xattr that exists but is not a payload this version understands. */
export class XattrPayloadError extends TiermvError {
  constructor(
    readonly path: string,
    readonly attr: string,
    readonly reason: string,
  ) {
    super("XATTR_PAYLOAD", `Unreadable ${attr} on "${path}": ${reason}`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Parses a raw record; throws XattrPayloadError (garbage, invalid, newer version). */
export function parseRecord<T>(
  raw: Uint8Array,
  where: { path: string; attr: string; known: number },
  schema: v.GenericSchema<unknown, T>,
): T {
  const parsed = parseJsonWith(schema, decoder.decode(raw));
  if (parsed.ok) return parsed.value;
  if (parsed.notJson) throw new XattrPayloadError(where.path, where.attr, "not JSON");
  const version = (parsed.json as { v?: unknown } | null)?.v;
  const newer = typeof version === "number" && version > where.known;
  const reason = newer ? `unknown version ${version}` : `invalid fields (${parsed.why})`;
  throw new XattrPayloadError(where.path, where.attr, reason);
}

/** The record in `attr`, or null when there is none. Throws XattrPayloadError if unreadable. */
export async function readRecord<T>(
  handle: FileHandle,
  attr: string,
  schema: v.GenericSchema<unknown, T>,
  known = 2,
): Promise<T | null> {
  const raw = await handle.getXattr(attr);
  if (raw === null) return null;
  return parseRecord(raw, { path: handle.path, attr, known }, schema);
}

/**
 * Creates `attr` with XATTR_CREATE (atomic on the metadata server: exactly one creator wins).
 * True when this call created it, false when it existed.
 */
export async function createRecord(
  handle: FileHandle,
  attr: string,
  value: object,
): Promise<boolean> {
  try {
    await handle.setXattr(attr, encoder.encode(JSON.stringify(value)), "create");
    return true;
  } catch (err) {
    if (err instanceof XattrExistsError) return false;
    throw err;
  }
}

/**
 * createRecord, then (only when this call created it) flistxattr, in one hand-off with the
 * mount's threads: the names right after the create, or null when it existed.
 */
export async function createRecordThenList(
  handle: FileHandle,
  attr: string,
  value: object,
): Promise<string[] | null> {
  try {
    return await handle.createXattrThenList(attr, encoder.encode(JSON.stringify(value)));
  } catch (err) {
    if (err instanceof XattrExistsError) return null;
    throw err;
  }
}

/**
 * createRecordThenList, with the listing's read of its highest-numbered `<read.top><n>` (and
 * with `read.mark`, Listing.marked) in the same hand-off (FileHandle.createXattrThenListTop); null when
 * the name existed.
 */
export async function createRecordThenListTop(
  handle: FileHandle,
  attr: string,
  value: object,
  read: ListingReads,
): Promise<Listing | null> {
  try {
    const bytes = encoder.encode(JSON.stringify(value));
    return await handle.createXattrThenListTop(attr, bytes, read);
  } catch (err) {
    if (err instanceof XattrExistsError) return null;
    throw err;
  }
}
